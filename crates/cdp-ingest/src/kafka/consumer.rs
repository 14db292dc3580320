//! The consumer thread: polls the group, hands messages to the partition's
//! worker, and handles rebalances.
//!
//! librdkafka never decides what was processed: offsets are not stored or
//! committed automatically. A partition starts where the lake's offsets
//! manifest says (set in the assignment itself), and offsets are committed
//! only after a worker made them durable. On revocation the revoked
//! partitions are flushed before the callback returns, and their offsets
//! committed without waiting (the lake's manifest is what the next owner
//! reads).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Message as _, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use cdp_lake::offsets::PartitionManifest;

use super::metrics::CONSUMER_LAG;
use super::worker::{Command, Durable, Message, PartitionId};
use crate::error::{IngestError, Result};

/// Commands in flight to one worker: enough to keep it busy, small enough
/// that memory stays flat.
pub(crate) const WORKER_QUEUE: usize = 4096;

/// Why the poll loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// SIGTERM / SIGINT (or the caller's token).
    Cancelled,
    /// `--until-idle`: nothing arrived for that long.
    Idle,
}

/// State the rebalance callback shares with the poll loop. Both run on the
/// consumer thread; the mutexes only satisfy librdkafka's `Sync` bound.
pub(crate) struct IngestContext {
    pub topics: Vec<String>,
    topic_index: HashMap<String, usize>,
    workers: Vec<SyncSender<Command>>,
    routes: Mutex<HashMap<PartitionId, usize>>,
    next_worker: Mutex<usize>,
    /// The first failure inside a callback; the poll loop stops on it.
    failure: Mutex<Option<IngestError>>,
    last_rebalance: Mutex<Instant>,
    stash: Mutex<Stash>,
    /// When the first and the latest message of this run arrived.
    pub(crate) traffic: Mutex<Option<(Instant, Instant)>>,
}

impl IngestContext {
    pub fn new(topics: Vec<String>, workers: Vec<SyncSender<Command>>, pause_at: usize) -> Self {
        Self {
            topic_index: topics
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i))
                .collect(),
            topics,
            stash: Mutex::new(Stash::new(workers.len(), pause_at)),
            traffic: Mutex::new(None),
            workers,
            routes: Mutex::new(HashMap::new()),
            next_worker: Mutex::new(0),
            failure: Mutex::new(None),
            last_rebalance: Mutex::new(Instant::now()),
        }
    }

    fn id(&self, topic: &str, partition: i32) -> Option<PartitionId> {
        self.topic_index.get(topic).map(|&t| (t, partition))
    }

    fn fail(&self, error: IngestError) {
        tracing::error!(error = %error, "Kafka ingest failed");
        self.failure.lock().expect("lock").get_or_insert(error);
    }

    fn take_failure(&self) -> Option<IngestError> {
        self.failure.lock().expect("lock").take()
    }

    fn worker_of(&self, id: PartitionId) -> Option<usize> {
        self.routes.lock().expect("lock").get(&id).copied()
    }

    /// Sends a command and waits for its reply.
    fn ask<T>(
        &self,
        worker: usize,
        command: impl FnOnce(SyncSender<Result<T>>) -> Command,
    ) -> Result<T> {
        let (tx, rx) = sync_channel(1);
        self.workers[worker]
            .send(command(tx))
            .map_err(|_| worker_gone())?;
        rx.recv().map_err(|_| worker_gone())?
    }

    /// Opens every assigned partition on a worker and sets the offset the
    /// lake holds it to in the assignment.
    fn on_assign(&self, tpl: &mut TopicPartitionList) -> Result<()> {
        let assigned: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        for (topic, partition) in assigned {
            let Some(id) = self.id(&topic, partition) else {
                continue;
            };
            let worker = {
                let mut next = self.next_worker.lock().expect("lock");
                let w = *next % self.workers.len();
                *next += 1;
                w
            };
            self.routes.lock().expect("lock").insert(id, worker);
            if let Some(offset) = self.ask(worker, |reply| Command::Open { id, reply })? {
                tpl.set_partition_offset(&topic, partition, Offset::Offset(offset))
                    .map_err(|source| IngestError::Kafka {
                        what: format!("setting the start offset of {topic}/{partition}"),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Flushes (unless the assignment was lost) and closes revoked
    /// partitions; returns the offsets to commit.
    fn on_revoke(&self, tpl: &TopicPartitionList, lost: bool) -> Result<TopicPartitionList> {
        let revoked: Vec<PartitionId> = tpl
            .elements()
            .iter()
            .filter_map(|e| self.id(e.topic(), e.partition()))
            .collect();
        self.stash.lock().expect("lock").forget(&revoked);
        let mut commit = TopicPartitionList::new();
        for e in tpl.elements() {
            let Some(id) = self.id(e.topic(), e.partition()) else {
                continue;
            };
            let Some(worker) = self.routes.lock().expect("lock").remove(&id) else {
                continue;
            };
            // A lost partition may already be another consumer's: writing it
            // now could race its new owner, so its buffer is dropped and the
            // new owner reads those messages again.
            let flush = !lost;
            if let Some(offset) = self.ask(worker, |reply| Command::Close { id, flush, reply })? {
                commit
                    .add_partition_offset(e.topic(), e.partition(), Offset::Offset(offset))
                    .map_err(|source| IngestError::Kafka {
                        what: "building the offsets to commit".into(),
                        source,
                    })?;
            }
        }
        Ok(commit)
    }

    pub fn flush_all(&self) -> Result<TopicPartitionList> {
        let mut commit = TopicPartitionList::new();
        for worker in 0..self.workers.len() {
            for ((t, p), offset) in self.ask(worker, |reply| Command::FlushAll { reply })? {
                add_offset(&mut commit, &self.topics[t], p, offset)?;
            }
        }
        Ok(commit)
    }
}

fn add_offset(
    tpl: &mut TopicPartitionList,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<()> {
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))
        .map_err(|source| IngestError::Kafka {
            what: "building the offsets to commit".into(),
            source,
        })
}

fn worker_gone() -> IngestError {
    IngestError::Internal("a Kafka worker thread stopped; its error is reported".into())
}

impl ClientContext for IngestContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        super::client::log_line(level, fac, message);
    }

    fn stats(&self, statistics: Statistics) {
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                if *partition >= 0 && p.consumer_lag >= 0 {
                    metrics::gauge!(CONSUMER_LAG, "topic" => topic.clone(), "partition" => partition.to_string())
                        .set(p.consumer_lag as f64);
                }
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(error = %error, "Kafka client error: {reason}");
    }
}

impl ConsumerContext for IngestContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        *self.last_rebalance.lock().expect("lock") = Instant::now();
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                tracing::info!(partitions = tpl.count(), "partitions assigned");
                // On a failure the poll loop stops. librdkafka still waits
                // for an assign call after every assignment event, and
                // leaving the group never completes without it: take nothing.
                let nothing = TopicPartitionList::new();
                let taken = match self.on_assign(tpl) {
                    Ok(()) => &*tpl,
                    Err(e) => {
                        self.fail(e);
                        &nothing
                    }
                };
                let assigned = if cooperative {
                    consumer.incremental_assign(taken)
                } else {
                    consumer.assign(taken)
                };
                if let Err(source) = assigned {
                    self.fail(IngestError::Kafka {
                        what: "taking the assigned partitions".into(),
                        source,
                    });
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let lost = consumer.assignment_lost();
                tracing::info!(partitions = tpl.count(), lost, "partitions revoked");
                match self.on_revoke(tpl, lost) {
                    Ok(commit) if commit.count() > 0 && !lost => {
                        // Asynchronously: a synchronous commit has no timeout,
                        // and inside a rebalance (or the close that leaves the
                        // group) it can wait forever for a coordinator that
                        // is busy regrouping. Nothing depends on it: the next
                        // owner resumes from the lake's manifest, whether or
                        // not this commit lands.
                        if let Err(e) = consumer.commit(&commit, CommitMode::Async) {
                            tracing::warn!(error = %e, "committing revoked partitions' offsets failed");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => self.fail(e),
                }
                let released = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = released {
                    tracing::warn!(error = %e, "releasing revoked partitions failed");
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance failed; releasing every partition");
                if let Err(e) = consumer.unassign() {
                    tracing::warn!(error = %e, "releasing partitions failed");
                }
            }
        }
    }
}

/// Messages read but not yet taken by their worker (its queue was full):
/// per worker, in order. While they pile up, consumption is paused, so the
/// consumer keeps polling (heartbeats, rebalances, `max.poll.interval.ms`)
/// without reading more.
pub(crate) struct Stash {
    queues: Vec<VecDeque<Message>>,
    paused: bool,
    /// Stashed messages at which consumption pauses (it resumes at half).
    pause_at: usize,
}

impl Stash {
    pub fn new(workers: usize, pause_at: usize) -> Self {
        Self {
            queues: (0..workers).map(|_| VecDeque::new()).collect(),
            paused: false,
            pause_at,
        }
    }

    fn len(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    /// Hands stashed messages to their workers while they have room.
    fn drain(&mut self, ctx: &IngestContext) -> Result<()> {
        for (worker, queue) in self.queues.iter_mut().enumerate() {
            while let Some(m) = queue.pop_front() {
                match ctx.workers[worker].try_send(Command::Message(m)) {
                    Ok(()) => {}
                    Err(TrySendError::Full(Command::Message(m))) => {
                        queue.push_front(m);
                        break;
                    }
                    Err(_) => return Err(worker_gone()),
                }
            }
        }
        Ok(())
    }

    /// Drops stashed messages of partitions no longer ours: they were never
    /// processed nor committed, so their new owner reads them.
    fn forget(&mut self, revoked: &[PartitionId]) {
        for queue in &mut self.queues {
            queue.retain(|m| !revoked.contains(&m.id));
        }
    }
}

/// Polls until cancelled, idle (with `until_idle`), or failed. Messages go to
/// their partition's worker; durable flushes are committed as they come.
pub(crate) fn poll_loop(
    consumer: &BaseConsumer<IngestContext>,
    durable: &Receiver<Durable>,
    cancel: &CancellationToken,
    until_idle: Option<Duration>,
    lake: &LakeHandle,
) -> Result<StopReason> {
    let ctx = consumer.context();
    let mut last_message = Instant::now();
    loop {
        if let Some(e) = ctx.take_failure() {
            return Err(e);
        }
        if cancel.is_cancelled() {
            return Ok(StopReason::Cancelled);
        }
        let stashed = {
            let mut stash = ctx.stash.lock().expect("lock");
            stash.drain(ctx)?;
            stash.len()
        };
        set_paused(consumer, stashed)?;
        let timeout = if stashed > 0 { 10 } else { 100 };
        match consumer.poll(Duration::from_millis(timeout)) {
            Some(Ok(m)) => {
                last_message = Instant::now();
                let mut traffic = ctx.traffic.lock().expect("lock");
                let first = traffic.map_or(last_message, |(first, _)| first);
                *traffic = Some((first, last_message));
                drop(traffic);
                let Some(id) = ctx.id(m.topic(), m.partition()) else {
                    continue;
                };
                let Some(worker) = ctx.worker_of(id) else {
                    continue; // revoked meanwhile; its new owner reads it
                };
                let message = Message {
                    id,
                    offset: m.offset(),
                    payload: m.payload().map(<[u8]>::to_vec),
                };
                let mut stash = ctx.stash.lock().expect("lock");
                // Behind stashed messages of the same worker, to keep order.
                if stash.queues[worker].is_empty() {
                    match ctx.workers[worker].try_send(Command::Message(message)) {
                        Ok(()) => {}
                        Err(TrySendError::Full(Command::Message(m))) => {
                            stash.queues[worker].push_back(m)
                        }
                        Err(_) => return Err(worker_gone()),
                    }
                } else {
                    stash.queues[worker].push_back(message);
                }
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "Kafka consumer error; retrying");
            }
            None => {}
        }
        commit_durable(consumer, durable);
        if let Some(idle) = until_idle {
            let quiet_since = last_message.max(*ctx.last_rebalance.lock().expect("lock"));
            if stashed == 0 && quiet_since.elapsed() >= idle {
                // Everything this member read must be durable before the
                // lake can say whether the group is done.
                let flushed = ctx.flush_all()?;
                if flushed.count() > 0 {
                    let _ = consumer.commit(&flushed, CommitMode::Async);
                }
                if lake_caught_up(consumer, lake) {
                    return Ok(StopReason::Idle);
                }
                // Quiet but not done (another member's partitions, a crashed
                // member's session not expired yet): wait on.
                last_message = Instant::now();
            }
        }
    }
}

/// How long leaving the group may take. A leave normally takes well under a
/// second; it waits longer only on a coordinator that does not answer (one
/// busy regrouping, or an outstanding join it never completes), and that
/// coordinator drops this member anyway once its session expires.
pub(crate) const LEAVE_GROUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Leaves the group: unsubscribes and closes the consumer, serving the
/// rebalance callbacks that come with it, waiting at most `timeout`.
/// Returns whether the leave completed; if not, the close goes on in the
/// background and the consumer is never freed, which only a process that
/// is about to exit can afford.
pub(crate) fn leave_group(consumer: BaseConsumer<IngestContext>, timeout: Duration) -> bool {
    consumer.unsubscribe();
    let (left, wait) = sync_channel(1);
    // rdkafka's drop closes the consumer and polls until librdkafka says it
    // is closed, with no time limit of its own.
    let closing = std::thread::Builder::new()
        .name("cdp-kafka-leave".into())
        .spawn(move || {
            drop(consumer);
            let _ = left.send(());
        });
    match closing {
        Ok(_) => wait.recv_timeout(timeout).is_ok(),
        Err(e) => {
            // The consumer was dropped with the closure that never ran.
            tracing::warn!(error = %e, "cannot start a thread to leave the group; left it without a time limit");
            true
        }
    }
}

/// Pauses every assigned partition while too much is stashed, and resumes
/// them once the workers caught up. librdkafka resumes a partition from the
/// message after the last one it handed over, so nothing is skipped or read
/// twice.
fn set_paused(consumer: &BaseConsumer<IngestContext>, stashed: usize) -> Result<()> {
    let mut stash = consumer.context().stash.lock().expect("lock");
    let change = if !stash.paused && stashed >= stash.pause_at {
        Some(true)
    } else if stash.paused && stashed <= stash.pause_at / 2 {
        Some(false)
    } else {
        None
    };
    let Some(pause) = change else {
        return Ok(());
    };
    let assignment = consumer.assignment().map_err(|source| IngestError::Kafka {
        what: "reading the assignment".into(),
        source,
    })?;
    let done = if pause {
        consumer.pause(&assignment)
    } else {
        consumer.resume(&assignment)
    };
    done.map_err(|source| IngestError::Kafka {
        what: if pause {
            "pausing consumption"
        } else {
            "resuming consumption"
        }
        .into(),
        source,
    })?;
    tracing::debug!(stashed, pause, "backpressure");
    stash.paused = pause;
    Ok(())
}

/// Whether the lake holds every subscribed partition up to its high
/// watermark — whichever member of the group read it. A member with no
/// partitions (the group has more members than partitions, or a crashed
/// member's session has not expired yet) is not done until then.
fn lake_caught_up(consumer: &BaseConsumer<IngestContext>, lake: &LakeHandle) -> bool {
    match lake_behind(consumer, lake) {
        None => true,
        Some(why) => {
            // Said each idle period, so an operator sees what a quiet member
            // waits for (another member's partitions, an expiring session).
            tracing::info!("idle but not done: {why}");
            false
        }
    }
}

/// The first reason the lake does not hold everything yet, if any.
fn lake_behind(consumer: &BaseConsumer<IngestContext>, lake: &LakeHandle) -> Option<String> {
    let ctx = consumer.context();
    let manifests = match lake
        .runtime
        .block_on(PartitionManifest::load_all(&lake.lake))
    {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot read the offsets manifests: {e}")),
    };
    let durable: HashMap<(&str, i32), i64> = manifests
        .iter()
        .map(|m| ((m.topic.as_str(), m.partition), m.next_offset))
        .collect();
    let timeout = Duration::from_secs(5);
    for topic in &ctx.topics {
        let metadata = match consumer.fetch_metadata(Some(topic), timeout) {
            Ok(m) => m,
            Err(e) => return Some(format!("cannot read the metadata of {topic}: {e}")),
        };
        for t in metadata.topics() {
            for p in t.partitions() {
                let (low, high) = match consumer.fetch_watermarks(topic, p.id(), timeout) {
                    Ok(w) => w,
                    Err(e) => {
                        return Some(format!(
                            "cannot read the watermarks of {topic}/{}: {e}",
                            p.id()
                        ))
                    }
                };
                let next = durable.get(&(topic.as_str(), p.id())).copied().unwrap_or(0);
                if high > low && next < high {
                    return Some(format!(
                        "{topic}/{} is durable up to offset {next} of {high}",
                        p.id()
                    ));
                }
            }
        }
    }
    None
}

/// The lake, for the idle check on the consumer thread.
pub(crate) struct LakeHandle {
    pub lake: cdp_lake::Lake,
    pub runtime: tokio::runtime::Handle,
}

/// Hands every stashed message to its worker, waiting for room (before a
/// final flush).
pub(crate) fn drain_stash(ctx: &IngestContext) -> Result<()> {
    let mut stash = ctx.stash.lock().expect("lock");
    for (worker, queue) in stash.queues.iter_mut().enumerate() {
        for m in queue.drain(..) {
            ctx.workers[worker]
                .send(Command::Message(m))
                .map_err(|_| worker_gone())?;
        }
    }
    Ok(())
}

/// Commits, without waiting, the offsets of flushes made durable since the
/// last call. Informational: the lake's manifest is what a restart reads.
pub(crate) fn commit_durable(consumer: &BaseConsumer<IngestContext>, durable: &Receiver<Durable>) {
    let mut latest: BTreeMap<PartitionId, i64> = BTreeMap::new();
    while let Ok(d) = durable.try_recv() {
        latest.insert(d.id, d.next_offset);
    }
    if latest.is_empty() {
        return;
    }
    let ctx = consumer.context();
    let mut tpl = TopicPartitionList::new();
    for ((t, p), offset) in latest {
        if add_offset(&mut tpl, &ctx.topics[t], p, offset).is_err() {
            return;
        }
    }
    if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
        tracing::debug!(error = %e, "asynchronous offset commit failed; the lake holds the data");
    }
}

#[cfg(test)]
mod tests {
    //! Leaving the group, against librdkafka's mock cluster: the bound on the
    //! leave is librdkafka's behaviour with our callbacks, not the broker's.

    use std::sync::mpsc::Receiver;

    use cdp_config::KafkaConfig;
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::DefaultProducerContext;

    use super::*;
    use crate::kafka::client::consumer_config;

    const TOPIC: &str = "leave";

    /// A worker that opens every partition; a revocation's close is
    /// answered only with `answer_close`. Unanswered, the consumer's close
    /// never completes, as it did not with a coordinator that never
    /// completed a join.
    fn fake_worker(commands: Receiver<Command>, answer_close: bool) {
        std::thread::spawn(move || {
            let mut unanswered = Vec::new();
            for command in commands {
                match command {
                    Command::Open { reply, .. } => drop(reply.send(Ok(None))),
                    Command::Close { reply, .. } if answer_close => drop(reply.send(Ok(None))),
                    Command::Close { reply, .. } => unanswered.push(reply),
                    Command::FlushAll { reply } => drop(reply.send(Ok(Vec::new()))),
                    Command::Message(_) | Command::Stop => {}
                }
            }
        });
    }

    /// A group member that owns the topic's partition.
    fn member_with_partition(
        answer_close: bool,
    ) -> (
        MockCluster<'static, DefaultProducerContext>,
        BaseConsumer<IngestContext>,
    ) {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic(TOPIC, 1, 1).unwrap();
        let (worker, commands) = sync_channel(WORKER_QUEUE);
        fake_worker(commands, answer_close);
        let mut kafka = KafkaConfig::default();
        kafka
            .consumer_properties
            .insert("session.timeout.ms".into(), "6000".into());
        let consumer: BaseConsumer<IngestContext> =
            consumer_config(&cluster.bootstrap_servers(), "leavers", &kafka)
                .unwrap()
                .create_with_context(IngestContext::new(vec![TOPIC.into()], vec![worker], 100))
                .unwrap();
        consumer.subscribe(&[TOPIC]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while consumer.assignment().unwrap().count() == 0 {
            assert!(Instant::now() < deadline, "never assigned the partition");
            consumer.poll(Duration::from_millis(100));
        }
        (cluster, consumer)
    }

    #[test]
    fn a_member_leaves_once_its_partitions_are_closed() {
        let (_cluster, consumer) = member_with_partition(true);
        assert!(leave_group(consumer, Duration::from_secs(30)));
    }

    #[test]
    fn a_revocation_that_never_ends_does_not_hold_the_run() {
        let (cluster, consumer) = member_with_partition(false);
        // Returning at all is the point: rdkafka's own drop would wait for
        // the stuck close forever.
        assert!(!leave_group(consumer, Duration::from_secs(2)));
        // The stuck close still uses the cluster.
        std::mem::forget(cluster);
    }
}
