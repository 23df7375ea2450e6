//! Replaying a transcript against operations.

use super::matching::{self, Bindings};
use super::wire::{Asked, Transcript};
use crate::UnixTime;
use crate::app::{AppState, Error, Input, Operation, OperationOutput, Step};
use std::fmt;

/// Runs operations against a recorded [`Transcript`], one recorded operation per
/// [`run`](Self::run), and checks every step they ask.
#[derive(Debug)]
pub struct Replay<'t> {
    transcript: &'t Transcript,
    next: usize,
    bindings: Bindings,
}

/// Where a replayed operation parted from its transcript, and how.
///
/// Its `Display` names the operation and exchange, the first difference, and a line
/// diff of the recorded step (`-`) against the one asked (`+`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The operation's index in the transcript (from 0).
    pub operation: usize,
    /// The exchange's index in that operation (from 0).
    pub exchange: usize,
    /// What differed, and the diff.
    pub message: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "transcript mismatch in operation {}, exchange {}: {}",
            self.operation, self.exchange, self.message
        )
    }
}

impl std::error::Error for Mismatch {}

impl Transcript {
    /// Starts replaying this transcript.
    pub fn replay(&self) -> Replay<'_> {
        Replay {
            transcript: self,
            next: 0,
            bindings: Bindings::new(),
        }
    }
}

fn pretty(asked: &Asked) -> String {
    serde_json::to_string_pretty(asked).unwrap_or_default()
}

impl Replay<'_> {
    /// Runs `operation` against the next recorded operation: each step it asks must
    /// match the recorded one, and gets the recorded input at the recorded `now`.
    /// Returns the operation's own result.
    ///
    /// # Errors
    /// A [`Mismatch`] when the operation asks another step (or other content), asks
    /// more or fewer steps, is another operation, or when there is no recorded
    /// operation left.
    pub fn run<T: OperationOutput>(
        &mut self,
        state: &mut AppState,
        mut operation: Operation<T>,
    ) -> Result<Result<T, Error>, Mismatch> {
        let index = self.next;
        let mismatch = |exchange: usize, message: String| Mismatch {
            operation: index,
            exchange,
            message,
        };
        let Some(record) = self.transcript.operations.get(index) else {
            return Err(mismatch(
                0,
                format!(
                    "the transcript has {} operations; this one ({}) is one more",
                    self.transcript.operations.len(),
                    operation.describe()
                ),
            ));
        };
        self.next += 1;
        if record.operation != operation.describe() {
            return Err(mismatch(
                0,
                format!(
                    "the transcript has \"{}\", the operation is \"{}\"",
                    record.operation,
                    operation.describe()
                ),
            ));
        }
        let mut input = Input::Start;
        for (i, exchange) in record.exchanges.iter().enumerate() {
            let step = operation.resume(state, input, UnixTime(exchange.now));
            let asked = Asked::of(&step);
            let recorded = serde_json::to_value(&exchange.asked).unwrap_or_default();
            let actual = serde_json::to_value(&asked).unwrap_or_default();
            let matched = if exchange.asked.name() == asked.name() {
                matching::match_value(&recorded, &actual, "", &mut self.bindings)
            } else {
                Err(format!(
                    "the transcript has a {} step, the operation asks {}",
                    exchange.asked.name(),
                    asked.name()
                ))
            };
            if let Err(difference) = matched {
                let mut expected = exchange.asked.clone();
                substitute_asked(&mut expected, &self.bindings);
                return Err(mismatch(
                    i,
                    format!(
                        "{difference}\n{}",
                        matching::line_diff(&pretty(&expected), &pretty(&asked))
                    ),
                ));
            }
            if let Step::Done(result) = step {
                return if i + 1 == record.exchanges.len() {
                    Ok(result)
                } else {
                    Err(mismatch(
                        i + 1,
                        format!(
                            "the operation ended, the transcript goes on with {}",
                            record.exchanges[i + 1].asked.name()
                        ),
                    ))
                };
            }
            let Some(given) = &exchange.given else {
                return Err(mismatch(
                    i,
                    format!(
                        "the transcript gives nothing to answer {}",
                        exchange.asked.name()
                    ),
                ));
            };
            let mut given = serde_json::to_value(given).unwrap_or_default();
            matching::substitute_value(&mut given, &self.bindings);
            input = serde_json::from_value::<super::Given>(given)
                .map_err(|e| e.to_string())
                .and_then(|given| given.to_input().map_err(|e| e.0))
                .map_err(|e| mismatch(i, format!("the recorded input cannot be given: {e}")))?;
        }
        let step = operation.resume(
            state,
            input,
            UnixTime(record.exchanges.last().map_or(0, |e| e.now)),
        );
        Err(mismatch(
            record.exchanges.len(),
            format!(
                "the transcript ends, the operation asks more:\n{}",
                pretty(&Asked::of(&step))
            ),
        ))
    }

    /// Checks that every recorded operation was replayed.
    ///
    /// # Errors
    /// A [`Mismatch`] naming the first operation left.
    pub fn finish(self) -> Result<(), Mismatch> {
        match self.transcript.operations.get(self.next) {
            None => Ok(()),
            Some(left) => Err(Mismatch {
                operation: self.next,
                exchange: 0,
                message: format!(
                    "{} recorded operations were not replayed, the first \"{}\"",
                    self.transcript.operations.len() - self.next,
                    left.operation
                ),
            }),
        }
    }

    /// What each placeholder met so far stands for in this replay.
    pub fn bindings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.bindings.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn substitute_asked(asked: &mut Asked, bindings: &Bindings) {
    let mut value = serde_json::to_value(&*asked).unwrap_or_default();
    matching::substitute_value(&mut value, bindings);
    if let Ok(substituted) = serde_json::from_value(value) {
        *asked = substituted;
    }
}
