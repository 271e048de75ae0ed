//! Who waits on a session, and the one waker that wakes them all.

use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

/// Which half of the socket is polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Reader = 0,
    Writer = 1,
}

/// Wakes every task waiting on the session when the transport is ready:
/// each side's waker is taken (and woken) once, and put back only by a
/// side that has to wait again.
#[derive(Debug, Default)]
pub(crate) struct WakerPair {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl WakerPair {
    pub(super) fn register(&self, side: Side, waker: &Waker) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut slots[side as usize];
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
}

impl WakerPair {
    /// `side` no longer waits: its waker (if any) is let go.
    pub(super) fn forget(&self, side: Side) {
        let waker = self.slots.lock().unwrap_or_else(|p| p.into_inner())[side as usize].take();
        drop(waker);
    }

    pub(super) fn wake_all(&self) {
        let taken = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            [slots[0].take(), slots[1].take()]
        };
        for w in taken.into_iter().flatten() {
            w.wake();
        }
    }
}

impl Wake for WakerPair {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_all();
    }
}
