//! The error of putting back together two halves that were not split from
//! the same socket.

use std::fmt;

/// The halves given to `reunite` belong to different sockets: here they
/// are back, sender first, as they were given.
pub struct ReuniteError<S, R>(pub S, pub R);

impl<S, R> fmt::Debug for ReuniteError<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl<S, R> fmt::Display for ReuniteError<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the halves were split from different sockets")
    }
}

impl<S, R> std::error::Error for ReuniteError<S, R> {}
