//! SMB 1, 2 and 3 over NetBIOS session service framing (TCP 139/445): commands
//! become transactions (by version and message id) with `smb.version`; tree connects
//! give `smb.share` or, for the IPC$ share, `smb.named_pipe`; reads and writes of
//! files become file transactions (`file.data`, `file.name`, file hashes) and those of
//! named pipes feed DCERPC ([`super::dcerpc`]), whose calls are transactions of the
//! same flow. Encrypted (SMB3 transform) messages are counted, not parsed.

use std::collections::{HashMap, VecDeque};

use serde_json::{Value, json};

use super::dcerpc::DcerpcState;
use super::files::FileInfo;
use super::keywords::{AppBuf, num_buf};
use super::{AppUpdate, TxParser};
use crate::detect::{BufferKind, Direction};

const MAX_TXS: usize = 64;
const MAX_FILES: usize = 8;
/// File bytes kept for inspection (the rest is only counted).
const MAX_FILE_DATA: usize = 256 * 1024;
/// Largest NBSS record accepted (the length field has 17 bits).
const MAX_RECORD: usize = 0x1ffff;
/// Chunks of a file waiting for the bytes before them.
const MAX_PENDING_CHUNKS: usize = 4;

/// DCERPC transaction ids start here, file transaction ids at [`FILE_TX_BASE`].
const DCERPC_TX_BASE: u64 = 1 << 40;
const FILE_TX_BASE: u64 = 1 << 41;

/// One SMB command exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmbTx {
    pub id: u64,
    pub version: u8,
    version_buf: [u8; 8],
    pub command: u16,
    pub msg_id: u64,
    pub request_seen: bool,
    pub response_seen: bool,
    /// Tree connect: the share (UTF-8) and whether it is the IPC$ (pipe) share.
    pub share: Option<(Vec<u8>, bool)>,
    /// Anomalies of this command (a write overlapping earlier data differently).
    pub events: Vec<&'static str>,
}

/// A file read or written over SMB.
#[derive(Debug, Clone, Default)]
struct SmbFile {
    tx_id: u64,
    fid: Vec<u8>,
    direction: Option<Direction>,
    name: Vec<u8>,
    data: Vec<u8>,
    /// Bytes seen past what is kept.
    extra: u64,
    pending: Vec<(u64, Vec<u8>)>,
    events: Vec<&'static str>,
    info: FileInfo,
}

/// SMB state of one flow.
#[derive(Debug, Clone, Default)]
pub struct SmbState {
    bufs: [Vec<u8>; 2],
    /// Bytes of a record to skip (a non-message NBSS record or an oversized one).
    skip: [usize; 2],
    txs: VecDeque<SmbTx>,
    next_id: u64,
    /// (version, tree id) → the share is IPC$.
    trees: HashMap<(u8, u32), bool>,
    /// File ids that are named pipes, and names of files by id.
    pipes: Vec<Vec<u8>>,
    names: HashMap<Vec<u8>, Vec<u8>>,
    /// Requests waiting for their response: (version, msg id) → details.
    creates: HashMap<(u8, u64), (Vec<u8>, bool)>,
    reads: HashMap<(u8, u64), (Vec<u8>, u64)>,
    files: VecDeque<SmbFile>,
    next_file: u64,
    next_pipe: u64,
    /// The command transaction being parsed.
    cur_tx: u64,
    /// DCERPC of each named pipe (by file id).
    pub dcerpc: Vec<(Vec<u8>, DcerpcState)>,
    pub events: Vec<&'static str>,
}

/// Whether data starts like an NBSS session message carrying SMB (`None`: too short).
pub fn probe(d: &[u8]) -> Option<bool> {
    if d.len() < 8 {
        return if d.first().is_none_or(|&t| t == 0) {
            None
        } else {
            Some(false)
        };
    }
    Some(d[0] == 0 && matches!(&d[4..8], b"\xffSMB" | b"\xfeSMB" | b"\xfdSMB"))
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// UTF-16LE to UTF-8 (lossy), up to a NUL.
fn utf16(b: &[u8]) -> Vec<u8> {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units).into_bytes()
}

fn ascii(b: &[u8]) -> Vec<u8> {
    b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())].to_vec()
}

fn is_ipc(share: &[u8]) -> bool {
    share.to_ascii_uppercase().ends_with(b"IPC$")
}

fn idx(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

impl SmbState {
    pub fn tx(&self, id: u64) -> Option<&SmbTx> {
        let id = id & !super::TO_CLIENT_SIDE;
        self.txs.iter().find(|t| t.id == id)
    }

    fn tx_for(&mut self, version: u8, msg_id: u64, command: u16) -> &mut SmbTx {
        let pos = self.txs.iter().rposition(|t| {
            t.version == version && t.msg_id == msg_id && t.command == command && !t.response_seen
        });
        match pos {
            Some(p) => &mut self.txs[p],
            None => {
                if self.txs.len() >= MAX_TXS {
                    self.txs.pop_front();
                }
                let id = self.next_id;
                self.next_id += 1;
                self.txs.push_back(SmbTx {
                    id,
                    version,
                    version_buf: num_buf(u64::from(version)),
                    command,
                    msg_id,
                    ..SmbTx::default()
                });
                self.txs.back_mut().expect("just pushed")
            }
        }
    }

    /// A command seen: the transaction is updated in `dir`.
    fn command(
        &mut self,
        dir: Direction,
        version: u8,
        msg_id: u64,
        cmd: u16,
        out: &mut Vec<AppUpdate>,
    ) -> u64 {
        let t = self.tx_for(version, msg_id, cmd);
        match dir {
            Direction::ToServer => t.request_seen = true,
            Direction::ToClient => t.response_seen = true,
        }
        let id = t.id;
        out.push(AppUpdate {
            tx_id: super::sided(id, dir),
            direction: dir,
        });
        self.cur_tx = id;
        id
    }

    fn set_share(&mut self, tx_id: u64, share: Vec<u8>) {
        if let Some(t) = self.txs.iter_mut().find(|t| t.id == tx_id) {
            let pipe = is_ipc(&share);
            t.share = Some((share, pipe));
        }
    }

    /// Data read from or written to a file or pipe at `offset`.
    fn data(
        &mut self,
        dir: Direction,
        fid: &[u8],
        offset: u64,
        d: &[u8],
        out: &mut Vec<AppUpdate>,
    ) {
        if d.is_empty() {
            return;
        }
        if self.pipes.iter().any(|p| p == fid) {
            let pos = match self.dcerpc.iter().position(|(f, _)| f == fid) {
                Some(p) => p,
                None => {
                    if self.dcerpc.len() >= MAX_FILES {
                        self.dcerpc.remove(0);
                    }
                    let base = DCERPC_TX_BASE + (self.next_pipe << 32);
                    self.next_pipe += 1;
                    self.dcerpc
                        .push((fid.to_vec(), DcerpcState::with_id_base(base)));
                    self.dcerpc.len() - 1
                }
            };
            // A write from the client starts a call; a new request on a pipe
            // the server answered resets nothing (binds persist).
            self.dcerpc[pos].1.feed(dir, d, out);
            return;
        }
        let pos = self
            .files
            .iter()
            .position(|f| f.fid == fid && f.direction == Some(dir));
        let f = match pos {
            Some(p) => &mut self.files[p],
            None => {
                if self.files.len() >= MAX_FILES {
                    self.files.pop_front();
                }
                let tx_id = FILE_TX_BASE + self.next_file;
                self.next_file += 1;
                let name = self.names.get(fid).cloned().unwrap_or_default();
                self.files.push_back(SmbFile {
                    tx_id,
                    fid: fid.to_vec(),
                    direction: Some(dir),
                    name,
                    ..SmbFile::default()
                });
                self.files.back_mut().expect("just pushed")
            }
        };
        let before = f.events.len();
        place(f, offset, d);
        let new: Vec<&'static str> = f.events[before..].to_vec();
        f.info = FileInfo::new(f.name.clone(), &f.data, false, false);
        out.push(AppUpdate {
            tx_id: f.tx_id,
            direction: dir,
        });
        let cur = self.cur_tx;
        if let Some(t) = self.txs.iter_mut().find(|t| t.id == cur) {
            t.events.extend(new);
        }
    }

    fn smb1(&mut self, dir: Direction, m: &[u8], out: &mut Vec<AppUpdate>) {
        if m.len() < 33 {
            self.events.push("smb.malformed_data");
            return;
        }
        let flags2 = u16le(m, 10).unwrap_or(0);
        let unicode = flags2 & 0x8000 != 0;
        let tid = u16le(m, 24).unwrap_or(0);
        let mid = u64::from(u16le(m, 30).unwrap_or(0));
        let mut cmd = m[4];
        let mut at = 32;
        let reply = m[9] & 0x80 != 0;
        let tx_id = self.command(dir, 1, mid, u16::from(cmd), out);
        // Walk the AndX chain.
        for _ in 0..8 {
            let Some(&wc) = m.get(at) else { break };
            let words = at + 1;
            let bytes_at = words + 2 * wc as usize;
            let bc = u16le(m, bytes_at).unwrap_or(0) as usize;
            let bytes = m
                .get(bytes_at + 2..(bytes_at + 2 + bc).min(m.len()))
                .unwrap_or(&[]);
            let w = m.get(words..bytes_at.min(m.len())).unwrap_or(&[]);
            let fid = |off: usize| w.get(off..off + 2).map(<[u8]>::to_vec);
            match (cmd, reply) {
                (0x75, false) if wc >= 4 => {
                    let pw = u16le(w, 6).unwrap_or(0) as usize;
                    let mut p = pw;
                    if unicode && (bytes_at + 2 + p) % 2 == 1 {
                        p += 1;
                    }
                    let path = bytes.get(p..).unwrap_or(&[]);
                    let share = if unicode { utf16(path) } else { ascii(path) };
                    self.trees.insert((1, u32::from(tid)), is_ipc(&share));
                    self.creates.insert((1, mid), (share.clone(), true));
                    self.set_share(tx_id, share);
                }
                (0x75, true) => {
                    if let Some((share, _)) = self.creates.remove(&(1, mid)) {
                        self.trees.insert((1, u32::from(tid)), is_ipc(&share));
                    }
                }
                (0xa2, false) if wc >= 24 => {
                    let mut p = 0;
                    if unicode && (bytes_at + 2) % 2 == 1 {
                        p = 1;
                    }
                    let raw = bytes.get(p..).unwrap_or(&[]);
                    let name = if unicode { utf16(raw) } else { ascii(raw) };
                    let pipe = self
                        .trees
                        .get(&(1, u32::from(tid)))
                        .copied()
                        .unwrap_or(false);
                    self.creates.insert((1, mid), (name, pipe));
                }
                (0xa2, true) if wc >= 3 => {
                    if let (Some((name, pipe)), Some(f)) = (self.creates.remove(&(1, mid)), fid(5))
                    {
                        self.opened(f, name, pipe);
                    }
                }
                (0x2f, false) if wc >= 12 => {
                    let (Some(f), Some(off)) = (fid(4), u32le(w, 6)) else {
                        break;
                    };
                    let hi = if wc >= 14 {
                        u32le(w, 24).unwrap_or(0)
                    } else {
                        0
                    };
                    let len = (u32::from(u16le(w, 18).unwrap_or(0)) << 16
                        | u32::from(u16le(w, 20).unwrap_or(0)))
                        as usize;
                    let doff = u16le(w, 22).unwrap_or(0) as usize;
                    let end = doff.saturating_add(len).min(m.len());
                    let d = m.get(doff..end).unwrap_or(&[]);
                    self.data(dir, &f, u64::from(hi) << 32 | u64::from(off), d, out);
                }
                (0x2e, false) if wc >= 10 => {
                    if let (Some(f), Some(off)) = (fid(4), u32le(w, 6)) {
                        self.reads.insert((1, mid), (f, u64::from(off)));
                    }
                }
                (0x2e, true) if wc >= 12 => {
                    if let Some((f, off)) = self.reads.remove(&(1, mid)) {
                        let len = u16le(w, 10).unwrap_or(0) as usize;
                        let doff = u16le(w, 12).unwrap_or(0) as usize;
                        let end = doff.saturating_add(len).min(m.len());
                        let d = m.get(doff..end).unwrap_or(&[]).to_vec();
                        self.data(dir, &f, off, &d, out);
                    }
                }
                (0x25, false) if wc >= 16 => {
                    // TransactNmPipe: setup[0] = 0x26, setup[1] = FID.
                    let dcount = u16le(w, 22).unwrap_or(0) as usize;
                    let doff = u16le(w, 24).unwrap_or(0) as usize;
                    let setup0 = u16le(w, 28);
                    let f = w.get(30..32).map(<[u8]>::to_vec);
                    if let (Some(0x26), Some(f)) = (setup0, f) {
                        self.reads.insert((1, mid), (f.clone(), 0));
                        let end = doff.saturating_add(dcount).min(m.len());
                        let d = m.get(doff..end).unwrap_or(&[]).to_vec();
                        if !self.pipes.contains(&f) {
                            self.pipes.push(f.clone());
                        }
                        self.data(dir, &f, 0, &d, out);
                    }
                }
                (0x25, true) if wc >= 10 => {
                    if let Some((f, _)) = self.reads.remove(&(1, mid)) {
                        let dcount = u16le(w, 12).unwrap_or(0) as usize;
                        let doff = u16le(w, 14).unwrap_or(0) as usize;
                        let end = doff.saturating_add(dcount).min(m.len());
                        let d = m.get(doff..end).unwrap_or(&[]).to_vec();
                        self.data(dir, &f, 0, &d, out);
                    }
                }
                _ => {}
            }
            // AndX commands carry the next command and its offset in their first words.
            let andx = matches!(cmd, 0x2d | 0x2e | 0x2f | 0x73 | 0x74 | 0x75 | 0xa2 | 0x24);
            if !andx || wc < 2 {
                break;
            }
            let Some(&next) = w.first() else { break };
            let off = u16le(w, 2).unwrap_or(0) as usize;
            if next == 0xff || off <= at || off >= m.len() {
                break;
            }
            cmd = next;
            at = off;
        }
    }

    fn opened(&mut self, fid: Vec<u8>, name: Vec<u8>, pipe: bool) {
        if pipe {
            if !self.pipes.contains(&fid) && self.pipes.len() < MAX_FILES {
                self.pipes.push(fid);
            }
        } else if self.names.len() < 4 * MAX_FILES || self.names.contains_key(&fid) {
            self.names.insert(fid, name);
        }
    }

    fn smb2(&mut self, dir: Direction, m: &[u8], out: &mut Vec<AppUpdate>) {
        let mut at = 0;
        for _ in 0..16 {
            let h = &m[at..];
            if h.len() < 64 || &h[..4] != b"\xfeSMB" {
                self.events.push("smb.malformed_data");
                break;
            }
            let next = u32le(h, 20).unwrap_or(0) as usize;
            // A next command must lie past this one's header.
            if next != 0 && next < 64 {
                self.events.push("smb.malformed_data");
                break;
            }
            let msg = if next > 0 && next <= h.len() {
                &h[..next]
            } else {
                h
            };
            self.smb2_one(dir, msg, out);
            if next == 0 || next >= h.len() {
                break;
            }
            at += next;
        }
    }

    fn smb2_one(&mut self, dir: Direction, m: &[u8], out: &mut Vec<AppUpdate>) {
        let cmd = u16le(m, 12).unwrap_or(0);
        let flags = u32le(m, 16).unwrap_or(0);
        let reply = flags & 1 != 0;
        let async_ = flags & 2 != 0;
        let mid = u64le(m, 24).unwrap_or(0);
        let tree = if async_ { 0 } else { u32le(m, 36).unwrap_or(0) };
        let status = u32le(m, 8).unwrap_or(0);
        let Some(b) = m.get(64..) else {
            self.events.push("smb.malformed_data");
            return;
        };
        // STATUS_PENDING interim responses do not complete the exchange.
        if reply && status == 0x0000_0103 {
            return;
        }
        // The SMB2 answer to an SMB1 multi-protocol negotiate completes that exchange.
        if reply
            && cmd == 0
            && mid == 0
            && let Some(t) = self
                .txs
                .iter_mut()
                .rev()
                .find(|t| t.version == 1 && t.command == 0x72 && !t.response_seen)
        {
            t.response_seen = true;
            out.push(AppUpdate {
                tx_id: super::sided(t.id, dir),
                direction: dir,
            });
            return;
        }
        let tx_id = self.command(dir, 2, mid, cmd, out);
        match (cmd, reply) {
            (0x03, false) => {
                let (Some(po), Some(pl)) = (u16le(b, 4), u16le(b, 6)) else {
                    return;
                };
                let (po, pl) = (po as usize, pl as usize);
                let path = m.get(po..po + pl).map(utf16).unwrap_or_default();
                self.creates.insert((2, mid), (path.clone(), false));
                self.set_share(tx_id, path);
            }
            (0x03, true) => {
                if let Some((share, _)) = self.creates.remove(&(2, mid)) {
                    let pipe = b.get(2) == Some(&2) || is_ipc(&share);
                    self.trees.insert((2, tree), pipe);
                }
            }
            (0x05, false) => {
                let (Some(no), Some(nl)) = (u16le(b, 44), u16le(b, 46)) else {
                    return;
                };
                let (no, nl) = (no as usize, nl as usize);
                let name = m.get(no..no + nl).map(utf16).unwrap_or_default();
                let pipe = self.trees.get(&(2, tree)).copied().unwrap_or(false);
                self.creates.insert((2, mid), (name, pipe));
            }
            (0x05, true) => {
                if let (Some((name, pipe)), Some(fid)) =
                    (self.creates.remove(&(2, mid)), b.get(64..80))
                {
                    self.opened(fid.to_vec(), name, pipe);
                }
            }
            (0x09, false) => {
                let (Some(doff), Some(len), Some(off)) = (u16le(b, 2), u32le(b, 4), u64le(b, 8))
                else {
                    return;
                };
                let Some(fid) = b.get(16..32).map(<[u8]>::to_vec) else {
                    return;
                };
                let (doff, len) = (doff as usize, len as usize);
                let d = m
                    .get(doff..doff.saturating_add(len).min(m.len()))
                    .unwrap_or(&[]);
                self.data(dir, &fid, off, d, out);
            }
            (0x08, false) => {
                if let (Some(off), Some(fid)) = (u64le(b, 8), b.get(16..32)) {
                    self.reads.insert((2, mid), (fid.to_vec(), off));
                }
            }
            (0x08, true) => {
                if let Some((fid, off)) = self.reads.remove(&(2, mid)) {
                    let doff = *b.get(2).unwrap_or(&0) as usize;
                    let len = u32le(b, 4).unwrap_or(0) as usize;
                    let d = m
                        .get(doff..doff.saturating_add(len).min(m.len()))
                        .unwrap_or(&[]);
                    let d = d.to_vec();
                    self.data(dir, &fid, off, &d, out);
                }
            }
            (0x0b, _) => {
                // FSCTL_PIPE_TRANSCEIVE: input to the pipe, output from it.
                if u32le(b, 4) != Some(0x0011_c017) {
                    return;
                }
                let Some(fid) = b.get(8..24).map(<[u8]>::to_vec) else {
                    return;
                };
                let (o, c) = if reply { (32, 36) } else { (24, 28) };
                let (Some(off), Some(cnt)) = (u32le(b, o), u32le(b, c)) else {
                    return;
                };
                let (off, cnt) = (off as usize, cnt as usize);
                let d = m
                    .get(off..off.saturating_add(cnt).min(m.len()))
                    .unwrap_or(&[])
                    .to_vec();
                if !self.pipes.contains(&fid) {
                    self.pipes.push(fid.clone());
                }
                self.data(dir, &fid, 0, &d, out);
            }
            _ => {}
        }
    }

    fn message(&mut self, dir: Direction, m: &[u8], out: &mut Vec<AppUpdate>) {
        match m.get(..4) {
            Some(b"\xffSMB") => self.smb1(dir, m, out),
            Some(b"\xfeSMB") => self.smb2(dir, m, out),
            Some(b"\xfdSMB") => {
                // SMB3 transform header: the message is encrypted; the session id
                // makes it a (version 3) command without content.
                let sid = u64le(m, 44).unwrap_or(0);
                self.command(dir, 3, sid, 0xffff, out);
            }
            _ => {
                self.events.push("smb.malformed_data");
            }
        }
        if self.creates.len() > 256 {
            self.creates.clear();
        }
        if self.reads.len() > 256 {
            self.reads.clear();
        }
        if self.events.len() > 16 {
            self.events.truncate(16);
        }
    }
}

/// Puts a chunk at its offset in a file: appended when it continues the data, kept
/// aside when it comes early; a chunk over bytes already seen is an overlap event
/// (only its new bytes are kept).
fn place(f: &mut SmbFile, offset: u64, d: &[u8]) {
    let have = f.data.len() as u64 + f.extra;
    if offset > have {
        if f.pending.len() < MAX_PENDING_CHUNKS {
            f.pending.push((offset, d.to_vec()));
        } else {
            f.events.push("smb.file_gap");
        }
        return;
    }
    let skip = (have - offset) as usize;
    // Suricata flags any write or read over bytes already seen, same or not.
    if skip > 0 && !f.events.contains(&"smb.file_overlap") {
        f.events.push("smb.file_overlap");
    }
    if skip < d.len() {
        let new = &d[skip..];
        let room = MAX_FILE_DATA.saturating_sub(f.data.len());
        f.data.extend_from_slice(&new[..new.len().min(room)]);
        f.extra += new.len().saturating_sub(room) as u64;
    }
    // Chunks that now continue the data.
    while let Some(p) = f
        .pending
        .iter()
        .position(|(o, _)| *o <= f.data.len() as u64 + f.extra)
    {
        let (o, c) = f.pending.swap_remove(p);
        place(f, o, &c);
    }
}

impl TxParser for SmbState {
    fn feed(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppUpdate>) {
        let i = idx(dir);
        let mut data = data;
        if self.skip[i] > 0 {
            let n = self.skip[i].min(data.len());
            self.skip[i] -= n;
            data = &data[n..];
        }
        self.bufs[i].extend_from_slice(data);
        loop {
            let b = &self.bufs[i];
            if b.len() < 4 {
                break;
            }
            let len = ((b[1] as usize & 1) << 16) | (b[2] as usize) << 8 | b[3] as usize;
            let ty = b[0];
            if ty != 0 || len > MAX_RECORD {
                // Session request/response, keep-alive, or not NBSS at all: skip it.
                if !matches!(ty, 0x00 | 0x81 | 0x82 | 0x83 | 0x84 | 0x85) {
                    self.events.push("smb.malformed_data");
                    self.bufs[i].clear();
                    break;
                }
            }
            if b.len() < 4 + len {
                break;
            }
            let rec: Vec<u8> = self.bufs[i].drain(..4 + len).skip(4).collect();
            if ty == 0 {
                self.message(dir, &rec, out);
            }
        }
        if self.bufs[i].len() > MAX_RECORD + 4 {
            self.bufs[i].clear();
        }
    }

    fn buffers<'a>(&'a self, u: &AppUpdate, out: &mut Vec<(BufferKind, &'a [u8])>) {
        let k = BufferKind::App;
        let id = u.tx_id & !super::TO_CLIENT_SIDE;
        if id >= FILE_TX_BASE {
            let Some(f) = self.files.iter().find(|f| f.tx_id == id) else {
                return;
            };
            out.push((BufferKind::FileData, &f.data));
            f.info.buffers(out);
            // The file's events belong to the command that caused them.
            return;
        }
        if id >= DCERPC_TX_BASE {
            if let Some((_, d)) = self.dcerpc_of(id) {
                d.buffers(u, out);
            }
            return;
        }
        let Some(t) = self.tx(u.tx_id) else { return };
        out.push((k(AppBuf::SmbVersion), &t.version_buf));
        // The share in both directions; the IPC$ share as the named pipe on the
        // request only (as Suricata inspects them).
        match &t.share {
            Some((share, false)) => out.push((k(AppBuf::SmbShare), share)),
            Some((share, true)) if u.direction == Direction::ToServer => {
                out.push((k(AppBuf::SmbNamedPipe), share));
            }
            _ => {}
        }
        for e in t.events.iter().chain(&self.events) {
            out.push((k(AppBuf::Event), e.as_bytes()));
        }
    }

    fn eve(&self, tx_id: u64) -> Option<(&'static str, Value)> {
        let tx_id = tx_id & !super::TO_CLIENT_SIDE;
        if tx_id >= FILE_TX_BASE {
            let f = self.files.iter().find(|f| f.tx_id == tx_id)?;
            return Some(("smb", json!({"filename": String::from_utf8_lossy(&f.name)})));
        }
        if tx_id >= DCERPC_TX_BASE {
            return self.dcerpc_of(tx_id)?.1.eve(tx_id);
        }
        let t = self.tx(tx_id)?;
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(t.id));
        m.insert(
            "dialect".into(),
            json!(if t.version == 1 { "NT LM 0.12" } else { "2.??" }),
        );
        m.insert("command".into(), json!(t.command));
        if let Some((s, _)) = &t.share {
            m.insert("share".into(), json!(String::from_utf8_lossy(s)));
        }
        Some(("smb", Value::Object(m)))
    }
}

impl SmbState {
    pub fn new() -> SmbState {
        SmbState::default()
    }

    /// The pipe whose DCERPC transaction ids include `id`.
    fn dcerpc_of(&self, id: u64) -> Option<&(Vec<u8>, DcerpcState)> {
        let k = (id - DCERPC_TX_BASE) >> 32;
        self.dcerpc
            .iter()
            .find(|(_, d)| d.id_base() == DCERPC_TX_BASE + (k << 32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nbss(m: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0];
        v.extend_from_slice(&(m.len() as u16).to_be_bytes());
        v.extend_from_slice(m);
        v
    }

    fn smb2(cmd: u16, reply: bool, mid: u64, tree: u32, body: &[u8]) -> Vec<u8> {
        let mut h = b"\xfeSMB".to_vec();
        h.extend_from_slice(&64u16.to_le_bytes());
        h.extend_from_slice(&[0; 6]);
        h.extend_from_slice(&cmd.to_le_bytes());
        h.extend_from_slice(&[0; 2]);
        h.extend_from_slice(&(u32::from(reply)).to_le_bytes());
        h.extend_from_slice(&[0; 4]);
        h.extend_from_slice(&mid.to_le_bytes());
        h.extend_from_slice(&[0; 4]);
        h.extend_from_slice(&tree.to_le_bytes());
        h.extend_from_slice(&[0; 24]);
        h.extend_from_slice(body);
        h
    }

    fn u16s(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn smb2_tree_create_write_is_a_file_and_pipe_feeds_dcerpc() {
        let mut st = SmbState::new();
        let mut out = Vec::new();
        // TREE_CONNECT \\srv\C$ (tree 1), then \\srv\IPC$ (tree 2).
        for (mid, tree, share, ty) in [(1u64, 1u32, "\\\\srv\\C$", 1u8), (2, 2, "\\\\srv\\IPC$", 2)]
        {
            let p = u16s(share);
            let mut body = vec![9, 0, 0, 0];
            body.extend_from_slice(&(72u16).to_le_bytes());
            body.extend_from_slice(&(p.len() as u16).to_le_bytes());
            body.extend_from_slice(&p);
            st.feed(
                Direction::ToServer,
                &nbss(&smb2(3, false, mid, 0, &body)),
                &mut out,
            );
            st.feed(
                Direction::ToClient,
                &nbss(&smb2(3, true, mid, tree, &[16, 0, ty, 0])),
                &mut out,
            );
        }
        // CREATE a.txt on tree 1 and the pipe on tree 2.
        for (mid, tree, name, fid) in [
            (3u64, 1u32, "a.txt", [1u8; 16]),
            (4, 2, "spoolss", [2u8; 16]),
        ] {
            let n = u16s(name);
            let mut body = vec![0u8; 56];
            body[44..46].copy_from_slice(&120u16.to_le_bytes());
            body[46..48].copy_from_slice(&(n.len() as u16).to_le_bytes());
            body.extend_from_slice(&n);
            st.feed(
                Direction::ToServer,
                &nbss(&smb2(5, false, mid, tree, &body)),
                &mut out,
            );
            let mut resp = vec![0u8; 88];
            resp[64..80].copy_from_slice(&fid);
            st.feed(
                Direction::ToClient,
                &nbss(&smb2(5, true, mid, tree, &resp)),
                &mut out,
            );
        }
        // WRITE "X5O!" to a.txt.
        let mut w = vec![49, 0];
        w.extend_from_slice(&112u16.to_le_bytes());
        w.extend_from_slice(&4u32.to_le_bytes());
        w.extend_from_slice(&0u64.to_le_bytes());
        w.extend_from_slice(&[1u8; 16]);
        w.extend_from_slice(&[0u8; 16]);
        w.extend_from_slice(b"X5O!");
        out.clear();
        st.feed(
            Direction::ToServer,
            &nbss(&smb2(9, false, 5, 1, &w)),
            &mut out,
        );
        let file_u = *out.iter().find(|u| u.tx_id >= FILE_TX_BASE).unwrap();
        let mut bufs = Vec::new();
        st.buffers(&file_u, &mut bufs);
        assert!(bufs.contains(&(BufferKind::FileData, &b"X5O!"[..])));
        assert!(bufs.contains(&(BufferKind::App(AppBuf::FileName), &b"a.txt"[..])));
        // The share and the pipe tree connects.
        let shares: Vec<_> = st.txs.iter().filter_map(|t| t.share.clone()).collect();
        assert_eq!(shares[0], (b"\\\\srv\\C$".to_vec(), false));
        assert_eq!(shares[1], (b"\\\\srv\\IPC$".to_vec(), true));
        // A write to the pipe goes to DCERPC.
        let bind = super::super::dcerpc::tests::bind(super::super::dcerpc::tests::EPM, 3);
        let mut w = vec![49, 0];
        w.extend_from_slice(&112u16.to_le_bytes());
        w.extend_from_slice(&(bind.len() as u32).to_le_bytes());
        w.extend_from_slice(&0u64.to_le_bytes());
        w.extend_from_slice(&[2u8; 16]);
        w.extend_from_slice(&[0u8; 16]);
        w.extend_from_slice(&bind);
        st.feed(
            Direction::ToServer,
            &nbss(&smb2(9, false, 6, 2, &w)),
            &mut out,
        );
        assert_eq!(st.dcerpc[0].1.ifaces.len(), 1);
    }

    #[test]
    fn out_of_order_chunks_join_and_overlaps_are_an_event() {
        let mut f = SmbFile::default();
        place(&mut f, 0, b"abcd");
        place(&mut f, 8, b"ij");
        place(&mut f, 4, b"efgh");
        assert_eq!(f.data, b"abcdefghij");
        assert!(f.events.is_empty());
        place(&mut f, 8, b"ijkl");
        assert_eq!(f.data, b"abcdefghijkl");
        assert_eq!(f.events, vec!["smb.file_overlap"]);
    }

    #[test]
    fn junk_is_an_event_not_a_panic() {
        let mut st = SmbState::new();
        let mut out = Vec::new();
        st.feed(Direction::ToServer, &nbss(b"\xfeSMB\x40"), &mut out);
        st.feed(Direction::ToServer, &nbss(b"\xffSMB"), &mut out);
        st.feed(Direction::ToServer, b"\x47\x45\x54 ", &mut out);
        assert!(st.events.contains(&"smb.malformed_data"));
        assert_eq!(probe(b"\0\0\0\x10\xfeSMB"), Some(true));
        assert_eq!(probe(b"GET / HTTP/1.1"), Some(false));
    }
}
