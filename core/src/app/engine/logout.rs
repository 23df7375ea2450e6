//! The logout goal: revoke each token, then remove it, whatever the revocation says;
//! then remove the entries that could not be read.

use super::{Engine, Next, Phase};
use crate::app::Error;
use crate::app::grants::Call;
use crate::app::operation::{Goal, Outcome};
use crate::app::state::AppState;
use crate::app::step::Step;
use crate::oauth::Revocation;

impl Engine {
    pub(super) fn advance_logout(&mut self, state: &mut AppState) -> Next {
        let Goal::Logout {
            sweep,
            queue,
            current,
            report,
        } = &mut self.goal
        else {
            return Step::Done(Err(Error::Internal("not a logout".into())));
        };
        let queue = queue.get_or_insert_with(|| {
            state
                .tokens
                .values()
                .filter(|t| *sweep || state.requirements.get(&t.resource_server).is_some())
                .cloned()
                .collect()
        });
        loop {
            match current.take() {
                // Revoke the access token, then the refresh token, then remove.
                None => {
                    let Some(token) = queue.pop_front() else {
                        // Then the entries that could not be read: nothing to revoke.
                        let covered = self
                            .unreadable
                            .iter()
                            .position(|rs| *sweep || state.requirements.get(rs).is_some());
                        if let Some(at) = covered {
                            let rs = self.unreadable.remove(at);
                            self.phase = Phase::Removing {
                                resource_server: rs.clone(),
                            };
                            return Step::Remove(rs);
                        }
                        let report = std::mem::take(report);
                        return self.done(state, Ok(Outcome::LoggedOut(report)));
                    };
                    let revocation = Revocation::access_token(
                        state.settings.service.clone(),
                        state.settings.client.clone(),
                        &token.access_token,
                    );
                    let rs = token.resource_server.clone();
                    *current = Some((token, false));
                    return self.send(
                        Call::Revoke {
                            resource_server: rs,
                            revocation,
                        },
                        1,
                    );
                }
                Some((token, false)) => {
                    let rs = token.resource_server.clone();
                    if let Some(refresh) = &token.refresh_token {
                        let revocation = Revocation::refresh_token(
                            state.settings.service.clone(),
                            state.settings.client.clone(),
                            refresh,
                        );
                        *current = Some((token, true));
                        return self.send(
                            Call::Revoke {
                                resource_server: rs,
                                revocation,
                            },
                            1,
                        );
                    }
                    *current = Some((token, true));
                }
                Some((token, true)) => {
                    let rs = token.resource_server;
                    self.phase = Phase::Removing {
                        resource_server: rs.clone(),
                    };
                    return Step::Remove(rs);
                }
            }
        }
    }
}
