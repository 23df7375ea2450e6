//! Recording an app's operations as a transcript of the core
//! ([`globus_app_core::transcript`]), for tests that replay them.

use globus_app_core::UnixTime;
use globus_app_core::app::{Input, Operation, OperationOutput, Step};
use globus_app_core::transcript::{Recorder, Transcript};
use std::sync::{Arc, Mutex, PoisonError};

/// A recorder shared with the apps it is given to
/// ([`AppConfig::record_transcript`](crate::AppConfig::record_transcript)): every
/// operation they run is written down, step by step, in the order they ran. An
/// app's hot path (a valid token served from memory) runs no operation and is not
/// recorded.
///
/// A transcript holds secrets until you redact it:
/// [`Transcript::redacted`](globus_app_core::transcript::Transcript::redacted).
///
/// ```
/// use globus_app_shell::transcript::TranscriptRecorder;
/// let recorder = TranscriptRecorder::new();
/// // Give a clone to an app: `AppConfig::default().record_transcript(recorder.clone())`.
/// assert!(recorder.transcript().operations.is_empty());
/// recorder.clear(); // forget what was recorded, e.g. after a test's setup
/// ```
#[derive(Clone, Debug, Default)]
pub struct TranscriptRecorder(Arc<Mutex<Recorder>>);

impl TranscriptRecorder {
    /// An empty recorder.
    pub fn new() -> TranscriptRecorder {
        TranscriptRecorder::default()
    }

    /// What was recorded so far.
    pub fn transcript(&self) -> Transcript {
        self.lock().transcript()
    }

    /// Forgets what was recorded so far.
    pub fn clear(&self) {
        *self.lock() = Recorder::new();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorder> {
        // A panic while recording leaves a whole record behind (each call is one
        // push), so the data is still good.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn given<T: OperationOutput>(&self, operation: &Operation<T>, input: &Input) {
        let mut recorder = self.lock();
        if matches!(input, Input::Start) {
            recorder.begin(operation);
        } else {
            recorder.given(input);
        }
    }

    pub(crate) fn asked<T: OperationOutput>(&self, now: UnixTime, step: &Step<T>) {
        self.lock().asked(now, step);
    }
}
