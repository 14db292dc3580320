use crate::identifier::Identifier;

/// Where a raw record came from: a file and its 1-based line, or a Kafka
/// topic, partition and offset. Kept on every event and dead letter so an
/// operator can find the original.
#[derive(Debug, Clone, PartialEq, Eq)]
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
