//! Recording a transcript from a driver loop.

use super::wire::{Asked, Exchange, Given, OperationRecord, Transcript};
use crate::UnixTime;
use crate::app::{Input, Operation, OperationOutput, Step};

/// Writes down what operations ask and are given, as their driver runs them.
///
/// Call [`begin`](Self::begin) when an operation starts, [`asked`](Self::asked) with
/// each step it returns and [`given`](Self::given) with each input before passing it
/// back; [`transcript`](Self::transcript) is what was written so far.
///
/// ```
/// use globus_app_core::app::{AppKind, AppSettings, AppState, Input, Operation};
/// use globus_app_core::app::{ScopeRequirements, Step};
/// use globus_app_core::transcript::Recorder;
/// use globus_app_core::{AuthService, OAuthClient, UnixTime};
/// use std::collections::BTreeMap;
///
/// let settings = AppSettings::new(AppKind::User, "My App",
///     OAuthClient::native("61338d24-54d5-408f-a10d-66c06b59f6d2"), AuthService::production());
/// let mut state = AppState::new(settings, ScopeRequirements::new())?;
/// let mut recorder = Recorder::new();
/// let mut op = Operation::login_required();
/// recorder.begin(&op);
/// let mut input = Input::Start;
/// let now = UnixTime(1_700_000_000);
/// let required = loop {
///     let step = op.resume(&mut state, input, now);
///     recorder.asked(now, &step);
///     input = match step {
///         Step::Load => Input::Loaded(BTreeMap::new()),
///         Step::Done(result) => break result?,
///         _ => Input::Continue,
///     };
///     recorder.given(&input);
/// };
/// assert!(required);
/// let transcript = recorder.transcript();
/// assert_eq!(transcript.operations[0].exchanges.len(), 2); // load, done
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    transcript: Transcript,
    /// The step waiting for its input.
    pending: Option<Exchange>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Starts the record of an operation.
    pub fn begin<T: OperationOutput>(&mut self, operation: &Operation<T>) {
        self.begin_described(operation.describe());
    }

    /// Starts the record of an operation described in your own words.
    pub fn begin_described(&mut self, operation: impl Into<String>) {
        self.flush();
        self.transcript.operations.push(OperationRecord {
            operation: operation.into(),
            exchanges: Vec::new(),
        });
    }

    /// Records a step the operation asked at `now`.
    pub fn asked<T: OperationOutput>(&mut self, now: UnixTime, step: &Step<T>) {
        self.flush();
        let exchange = Exchange {
            now: now.0,
            asked: Asked::of(step),
            given: None,
        };
        if matches!(step, Step::Done(_)) {
            self.push(exchange);
        } else {
            self.pending = Some(exchange);
        }
    }

    /// Records the input that answers the last step.
    pub fn given(&mut self, input: &Input) {
        if let Some(mut exchange) = self.pending.take() {
            exchange.given = Given::of(input);
            self.push(exchange);
        }
    }

    /// What was recorded so far (a step still waiting for its input is left out).
    pub fn transcript(&self) -> Transcript {
        self.transcript.clone()
    }

    /// Ends the recording.
    pub fn into_transcript(mut self) -> Transcript {
        self.flush();
        self.transcript
    }

    fn flush(&mut self) {
        if let Some(exchange) = self.pending.take() {
            self.push(exchange);
        }
    }

    fn push(&mut self, exchange: Exchange) {
        if self.transcript.operations.is_empty() {
            self.begin_described("an operation");
        }
        if let Some(operation) = self.transcript.operations.last_mut() {
            operation.exchanges.push(exchange);
        }
    }
}
