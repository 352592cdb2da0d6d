//! The operations center: one server process with the control panel, the operator
//! console and REST API, the agent endpoint, monitoring, notifications, reports and
//! billing. SQL lives only in the `store` module.
