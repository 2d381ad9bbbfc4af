#pragma once
// The load generator's engine: one thread, one epoll set, non-blocking sockets. Publishers,
// subscribers and idle clients are all plain structs driven by readiness events; nothing on the
// hot path allocates or touches Qt.
//
// Message stamp (first 20 bytes of every payload, little-endian): send time in steady-clock
// nanoseconds (8), publisher index (4), sequence number within that publisher (8). The
// subscriber derives latency from the first and loss/duplication from the other two; MQTT
// keeps order per publisher and subscription (§4.6), so a sequence gap is a lost message.

#include "ByteBuffer.h"
#include "LatencyHistogram.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::bench {

enum class Scenario { PubSub, FanOut, FanIn, Idle };

struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 1883;
    Scenario scenario = Scenario::PubSub;
    int qos = 0;
    int publishers = 1;
    int subscribers = 1;
    double seconds = 5;
    int payload = 64;
    // jsonPayload: the payload is a JSON object, {"s":"<stamp as 40 hex digits>","temp":31.5,
    // "hum":40,"id":"abc"} padded with spaces to `payload` bytes (>= kJsonPayloadMin), so
    // that broker-side rules can read payload.temp (tests/bench/run_rules.sh).
    bool jsonPayload = false;
    int connections = 1000; // idle scenario
    int inflight = 100;     // QoS 1: unacknowledged PUBLISH per publisher
    // End-to-end window: deliveries sent but not yet received, over the whole run (0 = open
    // loop, bounded only by TCP). Split evenly: each publisher runs at most
    // max(1, window / (publishers * subscribers of its topic)) messages ahead of the slowest
    // subscriber of its topic. Keeps every scenario at the rate the broker sustains instead of
    // filling socket buffers with a backlog that only measures their size.
    int window = 1000;
    double rate = 0;           // total msg/s over all publishers; 0 = as fast as the broker takes
    double drain = 3;          // seconds to wait for stragglers after publishing stops
    int keepAlive = 60;        // seconds, in CONNECT
    int connectParallel = 100; // connection attempts in progress at once
    double connectTimeout = 60;
    int brokerPid = 0;       // if set: sample its CPU time and RSS from /proc
    std::string topicPrefix; // unique per run unless given
    std::string nofileNote;  // what main() could do about RLIMIT_NOFILE, echoed in the JSON
    // Durable runs. persistent: subscribers connect with clean session 0 under fixed ids
    // (clientIdPrefix + "-s<j>"), so the broker keeps their sessions and queues.
    bool persistent = false;
    std::string clientIdPrefix;
    // offline (implies persistent): subscribers subscribe, then disconnect before publishing
    // starts, so every message is queued for an offline session; afterwards they reconnect
    // and drain. phase: "all" (subscribe, publish, drain), "fill" (stop once every PUBLISH is
    // acknowledged, leaving the queues full), "drain" (only reconnect the subscribers and
    // expect `count` messages per publisher, e.g. after a broker restart).
    bool offline = false;
    std::string phase = "all";
    int count = 0;        // messages per publisher; 0 = publish for `seconds`
    double drainCap = 30; // hard limit on the drain, seconds
};

class LoadGen {
public:
    explicit LoadGen(const Options &options);
    ~LoadGen();
    LoadGen(const LoadGen &) = delete;
    LoadGen &operator=(const LoadGen &) = delete;

    // Runs the scenario to completion (bounded by the options' durations). Returns false when
    // the setup failed so badly that no figure means anything; resultJson() says why.
    bool run();
    std::string resultJson() const;

private:
    enum class Role : uint8_t { Publisher, Subscriber, Idle };
    enum class State : uint8_t { Pending, Connecting, AwaitConnack, Ready, Closed };

    struct Client {
        int fd = -1;
        Role role = Role::Idle;
        State state = State::Pending;
        bool failed = false;
        bool subscribed = false;
        bool windowBlocked = false;
        uint32_t epollMask = 0;
        int index = 0; // among its role
        ByteBuffer in;
        ByteBuffer out;
        std::string clientId;
        std::string topic; // publisher: topic; subscriber: filter
        int64_t lastSendNs = 0;
        // Publisher only.
        uint64_t nextSeq = 0;
        uint32_t inflight = 0;
        uint16_t nextPacketId = 1;
        std::vector<bool> outstanding; // by packet id, QoS 1
    };

    bool runThroughput();
    bool runIdle();
    void setupClients();
    int connectBatch(const std::vector<int> &ids, double timeoutSeconds, int64_t &elapsedNs);
    bool startConnect(Client &c);
    void loopOnce(int timeoutMs);
    void handleEvent(Client &c, uint32_t events);
    void onWritable(Client &c);
    void onReadable(Client &c);
    void handlePacket(Client &c, uint8_t type, uint8_t flags, const uint8_t *body, uint32_t len,
                      int64_t nowNs);
    void onPublishReceived(Client &c, uint8_t flags, const uint8_t *body, uint32_t len,
                           int64_t nowNs);
    void generatePublishes(Client &c, int64_t nowNs);
    bool publisherMayGenerate(const Client &c) const;
    bool publisherMayGenerate(const Client &c, int64_t nowNs) const;
    void flush(Client &c);
    void updateInterest(Client &c);
    void closeClient(Client &c, bool failure, const char *why);
    void keepAliveTick(int64_t nowNs);
    bool allDelivered() const;
    uint64_t expectedDeliveries() const;
    uint64_t slowestSubscriberSeq(int publisher) const;
    bool subscriberMatches(int subscriber, int publisher) const;
    void sampleBroker(double &cpuSeconds, long &rssKb) const;
    void fail(const std::string &message);
    bool subscribeAll();
    bool publishPhase();
    void drainPhase(int64_t since);
    void disconnectAll(const std::vector<int> &ids);

    Options opt_;
    int epollFd_ = -1;
    std::vector<Client> clients_;
    std::vector<int> publisherIds_;
    std::vector<int> subscriberIds_;
    std::vector<int> idleIds_;
    std::vector<int> subsPerPublisher_;
    std::vector<uint64_t> publisherWindow_; // messages, from Options::window
    // Highest sequence number + 1 seen, per (subscriber, publisher); 0 = none yet.
    std::vector<uint64_t> highest_;

    bool publishing_ = false;
    int connectInProgress_ = 0;

    // Figures.
    std::string error_;
    LatencyHistogram latency_;
    uint64_t published_ = 0;
    uint64_t acked_ = 0;
    uint64_t received_ = 0; // every PUBLISH delivered to a subscriber
    uint64_t unique_ = 0;   // first deliveries of a (publisher, seq) to a subscriber
    uint64_t duplicates_ = 0;
    uint64_t gaps_ = 0;    // sequence numbers skipped in a subscriber's stream
    uint64_t foreign_ = 0; // PUBLISH without our stamp or from an unknown publisher
    uint64_t unexpectedAcks_ = 0;
    uint64_t connectFailures_ = 0;
    uint64_t subscribeFailures_ = 0;
    uint64_t disconnects_ = 0; // connections the broker closed or reset
    uint64_t protocolErrors_ = 0;
    uint64_t pingsSent_ = 0;
    uint64_t pingsAnswered_ = 0;
    int64_t pingSentNs_ = 0; // idle: when the round of PINGREQs went out
    int64_t lastPingrespNs_ = 0;
    int64_t publishStartNs_ = 0;
    int64_t publishStopNs_ = 0;
    int64_t lastReceiveNs_ = 0;
    int64_t drainEndNs_ = 0;
    int64_t lastAckNs_ = 0;
    int64_t drainStartNs_ = 0; // offline: when the subscribers reconnected
    int64_t firstReceiveNs_ = 0;
    uint64_t sessionsPresent_ = 0; // CONNACKs with session present = 1 (§3.2.2.2)
    // Idle scenario.
    int connected_ = 0;
    int64_t connectElapsedNs_ = 0;
    // Broker samples (if brokerPid).
    double brokerCpuBefore_ = -1, brokerCpuAfter_ = -1;
    double selfCpuBefore_ = 0, selfCpuAfter_ = 0; // this process, to show when it is the limit
    long brokerRssBefore_ = -1, brokerRssAfter_ = -1, brokerRssEnd_ = -1;
    // /proc/<pid>/io write_bytes (bytes the broker caused to be sent to storage, counted when
    // pages are dirtied): before publishing, once every PUBLISH is acknowledged, after drain.
    int64_t brokerWriteBefore_ = -1, brokerWriteAcked_ = -1, brokerWriteEnd_ = -1;
    double brokerCpuAcked_ = -1;
    long brokerWriteSample() const;
};

} // namespace ferry::bench
