//! The duplicate checks on a second thread: the reader's thread parses and fingerprints the
//! lines; a worker thread owns the duplicate set and inserts the fingerprints, a batch at a
//! time; the reader settles each batch's answers in file order (counts, the user limit, the
//! IDs handed on), as it would have settled them itself.
//!
//! Why: on one thread about half of `erasure validate`'s time is the inserts, waiting on memory
//! (a random slot in tens of megabytes for each user). With the worker, the parse and the
//! inserts overlap and each has a core's memory bandwidth; with one core there is nothing to
//! gain, and the reader does not start the worker ([`RequestReader::pipelined`]).
//!
//! What keeps the results identical to the single thread's:
//!
//! - Order: every valid row, from the fast path or the general path, goes through the same
//!   queue; the worker inserts batches in the order they were sent and answers in that order,
//!   and the reader settles them in that order. A duplicate within a batch is found because
//!   the worker inserts one fingerprint after the other, as the single thread does.
//! - The user limit: the rows queued and not yet settled never outnumber the users the limit
//!   still allows (`unsettled < room`), so no answer can bring the count over it: when a row
//!   would break that rule, everything queued is settled first, and if little room is left
//!   the worker is stopped and the rest of the file is read on one thread. `TOO_MANY_USERS`
//!   is therefore only ever decided on the reader's own thread, on the very line, with the
//!   counts of that line (the rows after it were never read).
//! - File-level problems found by the parse stop the reading; the rows queued before them are
//!   settled by [`RequestReader::finish`], exactly as the single thread settles them before it
//!   reads the bad line.
//!
//! Memory is bounded: a batch being filled, at most [`IN_FLIGHT`] batches at the worker, each
//! of [`BATCH_ROWS`] rows (16 bytes of fingerprint and the ID's bytes, copied: a batch outlives
//! the chunk it was read from), so about 1.5 MB for IDs of 30 bytes. One thread, no more, for
//! the reader's life; it ends with [`RequestReader::finish`] or when the reader is dropped.

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::{RequestReader, SAMPLE_ROWS};
use crate::fingerprint_set::FingerprintSet;

/// Rows in a batch sent to the worker.
pub(super) const BATCH_ROWS: usize = 8192;
/// Batches at the worker (sent, not yet settled), beside the one being filled.
const IN_FLIGHT: usize = 2;

/// Whether and how the reader uses the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pipelining {
    /// One thread throughout.
    Off,
    /// The worker starts once the file shows itself large (after the sample rows that size
    /// the tables), if the process may run on two cores or more and the limit leaves room.
    Auto,
    /// From the first row, in batches of this many rows, whatever the cores (tests).
    Always { batch_rows: usize },
}

/// The IDs of the rows of one batch, in order, kept by the reader while the worker checks
/// their fingerprints.
#[derive(Default)]
struct Rows {
    text: String,
    /// Where each ID ends in `text` (the next one starts there).
    ends: Vec<usize>,
}

/// The reader's side of the worker.
pub(super) struct Pipeline {
    batches: Option<SyncSender<Vec<u128>>>,
    answers: Option<Receiver<Vec<u128>>>,
    worker: Option<JoinHandle<Option<FingerprintSet>>>,
    batch_rows: usize,
    /// The batch being filled: its fingerprints and its IDs.
    fingerprints: Vec<u128>,
    rows: Rows,
    /// The IDs of the batches at the worker, oldest first.
    in_flight: VecDeque<Rows>,
    /// Emptied vectors, to fill again (the memory stays bounded and is not reallocated).
    spare_fingerprints: Vec<Vec<u128>>,
    spare_rows: Vec<Rows>,
    /// Rows queued and not yet settled (in the batch being filled and at the worker).
    unsettled: u64,
    /// Below this much room under the user limit the worker is stopped (see the module's doc).
    min_room: u64,
}

impl Pipeline {
    /// Starts the worker with the set; gives the set back if no thread could be started.
    fn start(
        set: FingerprintSet,
        batch_rows: usize,
        min_room: u64,
    ) -> Result<Pipeline, FingerprintSet> {
        let batch_rows = batch_rows.max(1);
        let (set_tx, set_rx) = sync_channel::<FingerprintSet>(1);
        let (batches, batch_rx) = sync_channel::<Vec<u128>>(IN_FLIGHT + 1);
        // Room for every answer the reader can leave waiting: the worker never blocks on it.
        let (answer_tx, answers) = sync_channel::<Vec<u128>>(IN_FLIGHT + 2);
        let spawned = std::thread::Builder::new()
            .name("duplicates".into())
            .spawn(move || work(set_rx, batch_rx, answer_tx));
        let Ok(worker) = spawned else {
            return Err(set);
        };
        if let Err(std::sync::mpsc::SendError(set)) = set_tx.send(set) {
            let _ = worker.join();
            return Err(set);
        }
        Ok(Pipeline {
            batches: Some(batches),
            answers: Some(answers),
            worker: Some(worker),
            batch_rows,
            fingerprints: Vec::with_capacity(batch_rows),
            rows: Rows::default(),
            in_flight: VecDeque::with_capacity(IN_FLIGHT + 1),
            spare_fingerprints: Vec::new(),
            spare_rows: Vec::new(),
            unsettled: 0,
            min_room,
        })
    }

    /// Queues one row; true when its batch is full (to send).
    fn push(&mut self, fingerprint: u128, id: &str) -> bool {
        self.fingerprints.push(fingerprint);
        self.rows.text.push_str(id);
        self.rows.ends.push(self.rows.text.len());
        self.unsettled += 1;
        self.fingerprints.len() >= self.batch_rows
    }

    /// Sends the batch being filled to the worker (nothing if it is empty); false if the
    /// worker is gone (it panicked: [`Pipeline::stop`] passes the panic on).
    fn send(&mut self) -> bool {
        if self.fingerprints.is_empty() {
            return true;
        }
        let fresh = self.spare_fingerprints.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.fingerprints, fresh);
        let rows = self.spare_rows.pop().unwrap_or_default();
        self.in_flight
            .push_back(std::mem::replace(&mut self.rows, rows));
        self.batches.as_ref().is_some_and(|b| b.send(batch).is_ok())
    }

    /// The oldest batch's answers (its fingerprints, those already seen set to 0) and its
    /// IDs (there must be one at the worker); None when the worker is gone.
    fn receive(&mut self) -> Option<(Vec<u128>, Rows)> {
        let answers = self.answers.as_ref()?.recv().ok()?;
        let rows = self.in_flight.pop_front()?;
        self.unsettled -= answers.len() as u64;
        Some((answers, rows))
    }

    /// Takes back a settled batch's vectors, emptied, for the batches to come.
    fn recycle(&mut self, mut answers: Vec<u128>, mut rows: Rows) {
        answers.clear();
        rows.text.clear();
        rows.ends.clear();
        self.spare_fingerprints.push(answers);
        self.spare_rows.push(rows);
    }

    /// Ends the worker (everything sent must have been received) and takes the set back.
    fn stop(mut self) -> FingerprintSet {
        self.batches = None;
        self.answers = None;
        let worker = self.worker.take();
        match worker.map(JoinHandle::join) {
            Some(Ok(Some(set))) => set,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            // `start` handed the worker the set before it returned; the worker gives it back
            // when its batches end.
            Some(Ok(None)) | None => unreachable!("the duplicate worker ended without its set"),
        }
    }
}

impl Drop for Pipeline {
    /// A reader dropped without `finish` (its caller gave up): the worker sees its batches end
    /// and stops; it is waited for, so that its memory is given back now.
    fn drop(&mut self) {
        self.batches = None;
        self.answers = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The worker: takes the set, then inserts each batch and sends back its answers, until the
/// reader stops sending; then hands the set back.
fn work(
    set: Receiver<FingerprintSet>,
    batches: Receiver<Vec<u128>>,
    answers: SyncSender<Vec<u128>>,
) -> Option<FingerprintSet> {
    let mut set = set.recv().ok()?;
    while let Ok(mut batch) = batches.recv() {
        set.insert_batch(&mut batch);
        if answers.send(batch).is_err() {
            break;
        }
    }
    Some(set)
}

/// Whether this process may run on two cores or more (its CPU affinity and cgroup quota).
fn two_cores() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
}

impl RequestReader {
    /// Lets the reader check duplicates on a second thread once the file shows itself large
    /// (more than the rows that size the tables), when the process may use two cores or more:
    /// the same results, sooner (see request_csv/pipeline.rs). One thread at most, for the
    /// reader's life. Without this call, or on one core, everything stays on the caller's
    /// thread.
    pub fn pipelined(mut self) -> Self {
        self.pipelining = Pipelining::Auto;
        self
    }

    /// The worker from the very first row, in batches of `batch_rows` rows, whatever the
    /// machine: for the tests and the fuzz target, which check that it changes no result.
    #[doc(hidden)]
    pub fn pipelined_in_batches_of(mut self, batch_rows: usize) -> Self {
        self.pipelining = Pipelining::Always {
            batch_rows: batch_rows.max(1),
        };
        self
    }

    /// Starts the worker if it should start now: between chunks (nothing pending), never
    /// after a file-level problem, never a second time.
    pub(super) fn maybe_start_pipeline(&mut self) {
        if self.pipeline.is_some() || self.fatal.is_some() || !self.pending.is_empty() {
            return;
        }
        let room = self.max_users.saturating_sub(self.stats.valid_users);
        let (batch_rows, min_room) = match self.pipelining {
            Pipelining::Off => return,
            Pipelining::Always { batch_rows } => (batch_rows, batch_rows as u64),
            Pipelining::Auto => {
                // Room for every batch in flight and one more: the queue is then never
                // settled early for the limit's sake until the worker stops for good.
                let min_room = ((IN_FLIGHT + 2) * BATCH_ROWS) as u64;
                let lines = self.stats.rows + self.stats.blank_lines;
                if lines < SAMPLE_ROWS || room < min_room {
                    return;
                }
                if !two_cores() {
                    self.pipelining = Pipelining::Off;
                    return;
                }
                (BATCH_ROWS, min_room)
            }
        };
        // Started once: whatever happens next, the rest of the file stays as it is.
        self.pipelining = Pipelining::Off;
        if room < min_room {
            return;
        }
        let set = std::mem::take(&mut self.seen);
        match Pipeline::start(set, batch_rows, min_room) {
            Ok(p) => self.pipeline = Some(p),
            Err(set) => self.seen = set,
        }
    }

    /// The duplicate check of one valid row while the worker runs: queued, to be settled in
    /// file order once the worker has answered; settled at once when there is no worker.
    /// False when the row ended the file (`TOO_MANY_USERS`).
    pub(super) fn queue(&mut self, f: u128, id: &str, on_id: &mut dyn FnMut(&str)) -> bool {
        let Some(p) = self.pipeline.as_ref() else {
            return self.settle(f, id, on_id);
        };
        let room = self.max_users.saturating_sub(self.stats.valid_users);
        if p.unsettled >= room {
            // The worker's answers might bring the users to the limit: settle everything
            // queued, then decide with the exact count.
            self.settle_queued(on_id);
            let room = self.max_users.saturating_sub(self.stats.valid_users);
            let cramped = self.pipeline.as_ref().is_none_or(|p| room < p.min_room);
            if self.fatal.is_some() || cramped {
                self.stop_pipeline(on_id);
                if self.fatal.is_some() {
                    return false;
                }
                return self.settle(f, id, on_id);
            }
        }
        let Some(p) = self.pipeline.as_mut() else {
            return self.settle(f, id, on_id);
        };
        if p.push(f, id) {
            self.send_batch(on_id);
        }
        true
    }

    /// Sends the batch being filled; settles the oldest batches beyond [`IN_FLIGHT`].
    fn send_batch(&mut self, on_id: &mut dyn FnMut(&str)) {
        let Some(p) = self.pipeline.as_mut() else {
            return;
        };
        if !p.send() {
            self.stop_pipeline(on_id);
            return;
        }
        while self
            .pipeline
            .as_ref()
            .is_some_and(|p| p.in_flight.len() > IN_FLIGHT)
        {
            self.settle_oldest(on_id);
        }
    }

    /// Sends what is queued and settles every batch, oldest first: nothing is left unsettled.
    fn settle_queued(&mut self, on_id: &mut dyn FnMut(&str)) {
        let Some(p) = self.pipeline.as_mut() else {
            return;
        };
        if !p.send() {
            self.stop_pipeline(on_id);
            return;
        }
        while self
            .pipeline
            .as_ref()
            .is_some_and(|p| !p.in_flight.is_empty())
        {
            self.settle_oldest(on_id);
        }
    }

    /// Settles the oldest batch at the worker, waiting for its answers.
    fn settle_oldest(&mut self, on_id: &mut dyn FnMut(&str)) {
        let Some(p) = self.pipeline.as_mut() else {
            return;
        };
        if p.in_flight.is_empty() {
            return;
        }
        let Some((answers, rows)) = p.receive() else {
            // The worker is gone: `stop` passes its panic on.
            if let Some(p) = self.pipeline.take() {
                self.seen = p.stop();
            }
            return;
        };
        let mut start = 0;
        for (&f, &end) in answers.iter().zip(&rows.ends) {
            let id = &rows.text[start..end];
            start = end;
            // Rows queued before a file-level problem of the parse are settled all the same,
            // as on one thread (there they are settled before the bad line is read).
            if !self.account(f != 0, id, on_id) {
                // Cannot happen (the queue never holds more rows than the room left, see the
                // module's doc); if it did, the rest of the batch is not read, as on one thread.
                break;
            }
        }
        if let Some(p) = self.pipeline.as_mut() {
            p.recycle(answers, rows);
        }
    }

    /// Settles everything queued, ends the worker and takes the duplicate set back: from here
    /// the reader is on one thread.
    pub(super) fn stop_pipeline(&mut self, on_id: &mut dyn FnMut(&str)) {
        if self.pipeline.is_none() {
            return;
        }
        if let Some(p) = self.pipeline.as_mut() {
            if p.send() {
                while self
                    .pipeline
                    .as_ref()
                    .is_some_and(|p| !p.in_flight.is_empty())
                {
                    self.settle_oldest(on_id);
                }
            }
        }
        if let Some(p) = self.pipeline.take() {
            self.seen = p.stop();
        }
    }
}
