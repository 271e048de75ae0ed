//! Skeleton.
/// Opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0
    Continuation = 0,
    /// 0x1
    Text = 1,
    /// 0x2
    Binary = 2,
    /// 0x8
    Close = 8,
    /// 0x9
    Ping = 9,
    /// 0xA
    Pong = 10,
}
/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN
    pub fin: bool,
    /// RSV1..3 as the low 3 bits
    pub rsv: u8,
    /// opcode
    pub opcode: OpCode,
    /// masking key
    pub mask: Option<[u8; 4]>,
    /// payload length
    pub payload_len: u64,
}
