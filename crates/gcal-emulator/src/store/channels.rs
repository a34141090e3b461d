//! Watch channels and the numbering of their messages.
//!
//! A channel is live until it is stopped or its expiration passes; only live channels get
//! messages. Message numbers are per channel: `1` for the `sync` message, then strictly
//! increasing with random gaps, as Google documents (numbers cannot be mapped to changes).

use chrono::{DateTime, Utc};
use rand::Rng;

use super::Store;
use crate::errors::GoogleError;

/// A watch channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Client-chosen channel id.
    pub id: String,
    /// Opaque id of the watched collection (shared by all channels of the calendar).
    pub resource_id: String,
    /// Version-specific URI of the watched collection.
    pub resource_uri: String,
    /// Watched calendar.
    pub calendar_id: String,
    /// User who created the channel; only they may stop it.
    pub owner: String,
    /// Where notifications are POSTed.
    pub address: String,
    /// Echoed in `X-Goog-Channel-Token` when set.
    pub token: Option<String>,
    /// After this instant the channel delivers nothing.
    pub expiration: DateTime<Utc>,
    /// Stopped channels deliver nothing.
    pub stopped: bool,
    /// Number of the latest message sent on this channel.
    pub last_message: u64,
}

/// What a watch request asks for, after validation and clamping.
#[derive(Debug, Clone)]
pub struct NewChannel {
    /// Client-chosen channel id.
    pub id: String,
    /// Notification address.
    pub address: String,
    /// Optional channel token.
    pub token: Option<String>,
    /// Granted expiration.
    pub expiration: DateTime<Utc>,
    /// Resolved calendar id.
    pub calendar_id: String,
    /// Calling user.
    pub owner: String,
    /// URI of the watched collection.
    pub resource_uri: String,
}

/// One message to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Channel id (`X-Goog-Channel-ID`).
    pub channel_id: String,
    /// `X-Goog-Resource-ID`.
    pub resource_id: String,
    /// `X-Goog-Resource-URI`.
    pub resource_uri: String,
    /// Calendar whose change caused the message.
    pub calendar_id: String,
    /// Receiving URL.
    pub address: String,
    /// `X-Goog-Channel-Token`, if the channel has one.
    pub token: Option<String>,
    /// `X-Goog-Channel-Expiration`.
    pub expiration: DateTime<Utc>,
    /// `X-Goog-Message-Number`.
    pub message_number: u64,
    /// `X-Goog-Resource-State`: `sync` or `exists`.
    pub state: &'static str,
}

fn channel_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_+/=".contains(&b))
}

impl Channel {
    fn live(&self, now: DateTime<Utc>) -> bool {
        !self.stopped && self.expiration > now
    }

    fn delivery(&self, state: &'static str) -> Delivery {
        Delivery {
            channel_id: self.id.clone(),
            resource_id: self.resource_id.clone(),
            resource_uri: self.resource_uri.clone(),
            calendar_id: self.calendar_id.clone(),
            address: self.address.clone(),
            token: self.token.clone(),
            expiration: self.expiration,
            message_number: self.last_message,
            state,
        }
    }
}

impl Store {
    /// Registers a channel. Returns it with its `sync` message (number 1).
    ///
    /// The channel-id rule and the reasons come from Google's shared push infrastructure;
    /// UNCONFIRMED for Calendar, but the safest reading.
    pub fn add_channel(&mut self, new: NewChannel) -> Result<(Channel, Delivery), GoogleError> {
        if !channel_id_ok(&new.id) {
            return Err(GoogleError::new(
                400,
                "push",
                "push.channelIdInvalid",
                "Channel id must match the following regular expression: [A-Za-z0-9\\-_\\+/=]+",
            ));
        }
        if self.channels.contains_key(&new.id) {
            return Err(GoogleError::new(
                400,
                "push",
                "push.channelIdNotUnique",
                "Channel id not unique",
            ));
        }
        let resource_id = self
            .calendar(&new.calendar_id)
            .map(|c| c.resource_id.clone())
            .ok_or_else(GoogleError::not_found)?;
        let channel = Channel {
            id: new.id.clone(),
            resource_id,
            resource_uri: new.resource_uri,
            calendar_id: new.calendar_id,
            owner: new.owner,
            address: new.address,
            token: new.token,
            expiration: new.expiration,
            stopped: false,
            last_message: 1,
        };
        let sync = channel.delivery("sync");
        self.channels.insert(new.id, channel.clone());
        Ok((channel, sync))
    }

    /// `channels.stop`: only the creating user may stop a channel, and the resource id must
    /// match. Unknown, already stopped, or mismatched channels are 404, as Google answers
    /// `Channel '<id>' not found for project '<number>'`.
    pub fn stop_channel(
        &mut self,
        owner: &str,
        id: &str,
        resource_id: &str,
    ) -> Result<(), GoogleError> {
        match self.channels.get_mut(id) {
            Some(ch) if !ch.stopped && ch.owner == owner && ch.resource_id == resource_id => {
                ch.stopped = true;
                Ok(())
            }
            _ => Err(GoogleError::new(
                404,
                "global",
                "notFound",
                &format!("Channel '{id}' not found for project '000000000000'"),
            )),
        }
    }

    /// Numbers one `exists` message for every live channel of the calendar.
    pub fn plan_exists(
        &mut self,
        calendar_id: &str,
        now: DateTime<Utc>,
        step: (u64, u64),
    ) -> Vec<Delivery> {
        let mut rng = rand::rng();
        let (low, high) = (step.0.max(1), step.1.max(step.0.max(1)));
        let mut out: Vec<Delivery> = self
            .channels
            .values_mut()
            .filter(|ch| ch.calendar_id == calendar_id && ch.live(now))
            .map(|ch| {
                ch.last_message += rng.random_range(low..=high);
                ch.delivery("exists")
            })
            .collect();
        out.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
        out
    }

    /// All channels ever created, stopped and expired ones included.
    pub fn channels(&self) -> Vec<Channel> {
        let mut all: Vec<Channel> = self.channels.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }
}
