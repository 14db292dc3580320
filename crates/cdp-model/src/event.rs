use std::borrow::Cow;

use crate::identifier::{IdBuffer, IdType, Identifier};

/// Where a raw record came from: a file and its 1-based line, or a Kafka
/// topic, partition and offset. Kept on every event and dead letter so an
/// operator can find the original.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    /// File path or Kafka topic.
    pub origin: String,
    /// Kafka partition; `None` for files.
    pub partition: Option<i32>,
    /// Kafka offset, or the 1-based line number in a file.
    pub offset: i64,
}

impl Provenance {
    pub fn file_line(path: impl Into<String>, line: i64) -> Self {
        Self {
            origin: path.into(),
            partition: None,
            offset: line,
        }
    }
    pub fn kafka(topic: impl Into<String>, partition: i32, offset: i64) -> Self {
        Self {
            origin: topic.into(),
            partition: Some(partition),
            offset,
        }
    }
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.partition {
            Some(p) => write!(f, "{}/{}@{}", self.origin, p, self.offset),
            None => write!(f, "{}:{}", self.origin, self.offset),
        }
    }
}

/// One event in the lake's `events` table (contract §4), whatever its source.
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalEvent {
    /// Unique per source: the SDK's `event_id` (or one derived from the
    /// content), `record_id`, `click_id`, or `order_id:status`.
    pub event_id: String,
    /// The source name: `online`, `offline`, `ad`, `transaction`, or the name
    /// of a mapped source.
    pub source: String,
    /// `page_view`, `member_signup`, `click`, `paid`, `refunded`, …
    pub event_type: String,
    /// Microseconds since the epoch, UTC.
    pub event_time_us: i64,
    /// Canonical identifiers, junk removed, derived hashes added; sorted and
    /// without duplicates.
    pub identifiers: Vec<Identifier>,
    /// Transaction amount in fen (decimal(18,2) yuan in the lake).
    pub amount_fen: Option<i64>,
    /// Ad cost in ten-thousandths of a yuan (decimal(18,4)): platforms bill
    /// impressions below one fen.
    pub ad_cost_e4: Option<i64>,
    pub currency: Option<String>,
    /// Sales channel of an order: `mini_program`, `store`, `tmall`, …
    pub channel: Option<String>,
    /// Online platform (`mini_program`, `ios`, …) or ad platform.
    pub platform: Option<String>,
    /// The live code (渠道活码) the person came through.
    pub channel_code: Option<String>,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub store_id: Option<String>,
    pub guide_id: Option<String>,
    pub campaign_id: Option<String>,
    pub order_id: Option<String>,
    /// Free-form payload details kept as JSON text.
    pub properties: Option<String>,
    pub provenance: Provenance,
}

impl CanonicalEvent {
    /// An event with only the required fields set; normalisers fill the rest.
    pub fn new(
        event_id: String,
        source: String,
        event_type: String,
        event_time_us: i64,
        provenance: Provenance,
    ) -> Self {
        Self {
            event_id,
            source,
            event_type,
            event_time_us,
            identifiers: Vec::new(),
            amount_fen: None,
            ad_cost_e4: None,
            currency: None,
            channel: None,
            platform: None,
            channel_code: None,
            utm_source: None,
            utm_campaign: None,
            store_id: None,
            guide_id: None,
            campaign_id: None,
            order_id: None,
            properties: None,
            provenance,
        }
    }
}

/// A normalised event that borrows its text from the raw message and from a
/// [`Scratch`] instead of owning it: the hot path of ingestion appends it
/// straight to column builders, with no allocation per event.
/// [`EventView::to_event`] makes the owned [`CanonicalEvent`].
#[derive(Debug, Clone)]
pub struct EventView<'a> {
    pub event_id: Cow<'a, str>,
    pub source: &'a str,
    pub event_type: Cow<'a, str>,
    pub event_time_us: i64,
    /// Canonical identifiers, sorted and without duplicates.
    pub identifiers: Identifiers<'a>,
    pub amount_fen: Option<i64>,
    pub ad_cost_e4: Option<i64>,
    pub currency: Option<Cow<'a, str>>,
    pub channel: Option<Cow<'a, str>>,
    pub platform: Option<Cow<'a, str>>,
    pub channel_code: Option<Cow<'a, str>>,
    pub utm_source: Option<Cow<'a, str>>,
    pub utm_campaign: Option<Cow<'a, str>>,
    pub store_id: Option<Cow<'a, str>>,
    pub guide_id: Option<Cow<'a, str>>,
    pub campaign_id: Option<Cow<'a, str>>,
    pub order_id: Option<Cow<'a, str>>,
    pub properties: Option<Cow<'a, str>>,
}

/// The identifiers of an [`EventView`]: in a reused buffer, or those of an
/// owned event.
#[derive(Debug, Clone, Copy)]
pub enum Identifiers<'a> {
    Buffer(&'a IdBuffer),
    Owned(&'a [Identifier]),
}

impl<'a> Identifiers<'a> {
    pub fn len(&self) -> usize {
        match self {
            Self::Buffer(b) => b.len(),
            Self::Owned(ids) => ids.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (type, canonical value) pairs, in the event's order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (IdType, &'a str)> + 'a> {
        match *self {
            Self::Buffer(b) => Box::new(b.iter()),
            Self::Owned(ids) => Box::new(ids.iter().map(|i| (i.id_type, i.value.as_str()))),
        }
    }

    /// Calls `f` for each identifier, in the event's order (no boxed
    /// iterator: this is the hot path).
    pub fn for_each(&self, mut f: impl FnMut(IdType, &'a str)) {
        match *self {
            Self::Buffer(b) => b.iter().for_each(|(t, v)| f(t, v)),
            Self::Owned(ids) => ids.iter().for_each(|i| f(i.id_type, &i.value)),
        }
    }
}

/// Buffers a normaliser reuses from one message to the next, so that values
/// it computes (canonical identifiers, derived ids, `properties`) need no
/// allocation of their own. One per thread.
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) ids: IdBuffer,
    pub(crate) event_id: String,
    pub(crate) properties: String,
    /// Mapped sources are normalised into an owned event, viewed from here.
    pub(crate) owned: Option<CanonicalEvent>,
}

impl<'a> EventView<'a> {
    /// A view with only the required fields set; normalisers fill the rest.
    pub(crate) fn new(
        event_id: Cow<'a, str>,
        source: &'a str,
        event_type: Cow<'a, str>,
        event_time_us: i64,
        identifiers: Identifiers<'a>,
    ) -> Self {
        Self {
            event_id,
            source,
            event_type,
            event_time_us,
            identifiers,
            amount_fen: None,
            ad_cost_e4: None,
            currency: None,
            channel: None,
            platform: None,
            channel_code: None,
            utm_source: None,
            utm_campaign: None,
            store_id: None,
            guide_id: None,
            campaign_id: None,
            order_id: None,
            properties: None,
        }
    }

    /// The owned event, with its provenance.
    pub fn to_event(&self, provenance: &Provenance) -> CanonicalEvent {
        let own = |v: &Option<Cow<'a, str>>| v.as_deref().map(str::to_string);
        CanonicalEvent {
            event_id: self.event_id.to_string(),
            source: self.source.to_string(),
            event_type: self.event_type.to_string(),
            event_time_us: self.event_time_us,
            identifiers: self
                .identifiers
                .iter()
                .map(|(t, v)| Identifier::new(t, v))
                .collect(),
            amount_fen: self.amount_fen,
            ad_cost_e4: self.ad_cost_e4,
            currency: own(&self.currency),
            channel: own(&self.channel),
            platform: own(&self.platform),
            channel_code: own(&self.channel_code),
            utm_source: own(&self.utm_source),
            utm_campaign: own(&self.utm_campaign),
            store_id: own(&self.store_id),
            guide_id: own(&self.guide_id),
            campaign_id: own(&self.campaign_id),
            order_id: own(&self.order_id),
            properties: own(&self.properties),
            provenance: provenance.clone(),
        }
    }
}

impl CanonicalEvent {
    /// The event as a view, for code that takes both owned events and
    /// views (the lake's column builders).
    pub fn view(&self) -> EventView<'_> {
        fn view(v: &Option<String>) -> Option<Cow<'_, str>> {
            v.as_deref().map(Cow::Borrowed)
        }
        EventView {
            event_id: Cow::Borrowed(&self.event_id),
            source: &self.source,
            event_type: Cow::Borrowed(&self.event_type),
            event_time_us: self.event_time_us,
            identifiers: Identifiers::Owned(&self.identifiers),
            amount_fen: self.amount_fen,
            ad_cost_e4: self.ad_cost_e4,
            currency: view(&self.currency),
            channel: view(&self.channel),
            platform: view(&self.platform),
            channel_code: view(&self.channel_code),
            utm_source: view(&self.utm_source),
            utm_campaign: view(&self.utm_campaign),
            store_id: view(&self.store_id),
            guide_id: view(&self.guide_id),
            campaign_id: view(&self.campaign_id),
            order_id: view(&self.order_id),
            properties: view(&self.properties),
        }
    }
}
