#include "LoadGen.h"

#include "BenchWire.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::bench {
namespace {

constexpr size_t kStampSize = 20;
// --json-payload: {"s":"<40 hex>","temp":31.5,"hum":40,"id":"abc"}
constexpr char kJsonHead[] = "{\"s\":\"";
constexpr char kJsonTail[] = "\",\"temp\":31.5,\"hum\":40,\"id\":\"abc\"}";
constexpr size_t kJsonHeadSize = sizeof kJsonHead - 1;
constexpr size_t kJsonTailSize = sizeof kJsonTail - 1;
constexpr size_t kOutHighWater = 64 * 1024; // a publisher encodes at most this much ahead
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kReadBudget = 256 * 1024; // per readiness event, for fairness between sockets
constexpr double kDrainHardCapSeconds = 30;

int64_t nowNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); // what std::chrono::steady_clock reads on Linux
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t secondsToNs(double s)
{
    return int64_t(s * 1e9);
}

double selfCpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval &tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void putLe(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; ++i)
        p[i] = uint8_t(v >> (8 * i));
}

uint64_t getLe(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v |= uint64_t(p[i]) << (8 * i);
    return v;
}

const char *scenarioName(Scenario s)
{
    switch (s) {
    case Scenario::PubSub:
        return "pubsub";
    case Scenario::FanOut:
        return "fanout";
    case Scenario::FanIn:
        return "fanin";
    case Scenario::Idle:
        return "idle";
    }
    return "?";
}

// Minimal JSON object writer: keys are ours, string values are escaped.
class Json {
public:
    void num(const char *key, double v)
    {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        raw(key, buf);
    }
    void integer(const char *key, int64_t v) { raw(key, std::to_string(v)); }
    void str(const char *key, const std::string &v)
    {
        std::string escaped = "\"";
        for (char ch : v) {
            if (ch == '"' || ch == '\\')
                escaped += '\\';
            if (uint8_t(ch) < 0x20)
                ch = ' ';
            escaped += ch;
        }
        raw(key, escaped + "\"");
    }
    void raw(const char *key, const std::string &v)
    {
        text_ += text_.empty() ? "{" : ",";
        text_ += "\"";
        text_ += key;
        text_ += "\":";
        text_ += v;
    }
    std::string done() const { return text_.empty() ? "{}" : text_ + "}"; }

private:
    std::string text_;
};

} // namespace

LoadGen::LoadGen(const Options &options) : opt_(options)
{
    epollFd_ = epoll_create1(EPOLL_CLOEXEC);
    if (opt_.topicPrefix.empty())
        opt_.topicPrefix =
            "ferrybench/" + std::to_string(getpid()) + "-" + std::to_string(nowNs() % 1000000);
}

LoadGen::~LoadGen()
{
    for (Client &c : clients_)
        if (c.fd >= 0)
            ::close(c.fd);
    if (epollFd_ >= 0)
        ::close(epollFd_);
}

void LoadGen::fail(const std::string &message)
{
    if (error_.empty())
        error_ = message;
}

bool LoadGen::subscriberMatches(int subscriber, int publisher) const
{
    switch (opt_.scenario) {
    case Scenario::PubSub:
        return subscriber % opt_.publishers == publisher;
    case Scenario::FanOut:
    case Scenario::FanIn:
        return true;
    case Scenario::Idle:
        return false;
    }
    return false;
}

void LoadGen::setupClients()
{
    const std::string pid = std::to_string(getpid());
    auto add = [&](Role role, int index, char tag) {
        Client c;
        c.role = role;
        c.index = index;
        c.clientId = "fb" + pid + "-" + tag + std::to_string(index);
        clients_.push_back(std::move(c));
        return int(clients_.size() - 1);
    };
    if (opt_.scenario == Scenario::Idle) {
        clients_.reserve(size_t(opt_.connections));
        for (int i = 0; i < opt_.connections; ++i)
            idleIds_.push_back(add(Role::Idle, i, 'i'));
        return;
    }
    clients_.reserve(size_t(opt_.publishers + opt_.subscribers));
    for (int j = 0; j < opt_.subscribers; ++j) {
        const int id = add(Role::Subscriber, j, 's');
        if (opt_.persistent)
            clients_[id].clientId = opt_.clientIdPrefix + "-s" + std::to_string(j);
        std::string filter;
        if (opt_.scenario == Scenario::PubSub)
            filter = opt_.topicPrefix + "/t" + std::to_string(j % opt_.publishers);
        else if (opt_.scenario == Scenario::FanOut && opt_.publishers == 1)
            filter = opt_.topicPrefix + "/t0";
        else
            filter = opt_.topicPrefix + "/+";
        clients_[id].topic = filter;
        subscriberIds_.push_back(id);
    }
    for (int i = 0; i < opt_.publishers; ++i) {
        const int id = add(Role::Publisher, i, 'p');
        clients_[id].topic = opt_.topicPrefix + "/t" + std::to_string(i);
        if (opt_.qos > 0)
            clients_[id].outstanding.assign(65536, false);
        publisherIds_.push_back(id);
    }
    subsPerPublisher_.assign(size_t(opt_.publishers), 0);
    for (int i = 0; i < opt_.publishers; ++i)
        for (int j = 0; j < opt_.subscribers; ++j)
            subsPerPublisher_[i] += subscriberMatches(j, i) ? 1 : 0;
    publisherWindow_.assign(size_t(opt_.publishers), 1);
    for (int i = 0; i < opt_.publishers; ++i) {
        const uint64_t share =
            uint64_t(opt_.publishers) * uint64_t(std::max(1, subsPerPublisher_[i]));
        publisherWindow_[i] = std::max<uint64_t>(1, uint64_t(opt_.window) / share);
    }
    highest_.assign(size_t(opt_.subscribers) * size_t(opt_.publishers), 0);
}

bool LoadGen::startConnect(Client &c)
{
    sockaddr_storage addr{};
    socklen_t addrLen = 0;
    int family = AF_INET;
    auto *v4 = reinterpret_cast<sockaddr_in *>(&addr);
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&addr);
    if (inet_pton(AF_INET, opt_.host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(opt_.port);
        addrLen = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, opt_.host.c_str(), &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(opt_.port);
        addrLen = sizeof(sockaddr_in6);
    } else {
        fail("host must be a numeric loopback address: " + opt_.host);
        return false;
    }
    c.fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        fail(std::string("socket: ") + std::strerror(errno));
        c.failed = true;
        c.state = State::Closed;
        ++connectFailures_;
        return false;
    }
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++connectInProgress_;
    c.state = State::Connecting;
    if (::connect(c.fd, reinterpret_cast<sockaddr *>(&addr), addrLen) != 0 &&
        errno != EINPROGRESS) {
        closeClient(c, true, std::strerror(errno));
        return false;
    }
    updateInterest(c);
    return true;
}

void LoadGen::updateInterest(Client &c)
{
    if (c.fd < 0)
        return;
    uint32_t want = EPOLLIN;
    if (c.state == State::Connecting)
        want = EPOLLOUT;
    else if (!c.out.empty() || (c.role == Role::Publisher && publisherMayGenerate(c, nowNs())))
        want |= EPOLLOUT;
    if (want == c.epollMask)
        return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u32 = uint32_t(&c - clients_.data());
    const int op = c.epollMask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(epollFd_, op, c.fd, &ev) != 0) {
        fail(std::string("epoll_ctl: ") + std::strerror(errno));
        return;
    }
    c.epollMask = want;
}

void LoadGen::closeClient(Client &c, bool failure, const char *why)
{
    if (c.fd < 0)
        return;
    const bool duringConnect = c.state == State::Connecting || c.state == State::AwaitConnack;
    epoll_ctl(epollFd_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    c.epollMask = 0;
    c.state = State::Closed;
    c.in.release();
    c.out.release();
    if (duringConnect)
        --connectInProgress_;
    if (!failure)
        return;
    c.failed = true;
    if (duringConnect) {
        ++connectFailures_;
        fail(std::string("connect failed: ") + why);
    } else {
        ++disconnects_;
        if (error_.empty())
            error_ = std::string("broker closed a connection: ") + why;
    }
}

bool LoadGen::publisherMayGenerate(const Client &c) const
{
    if (!publishing_ || c.state != State::Ready)
        return false;
    if (opt_.count > 0 && c.nextSeq >= uint64_t(opt_.count))
        return false;
    return opt_.qos == 0 || c.inflight < uint32_t(opt_.inflight);
}

// With --rate, a publisher may only be as far ahead as its share of the rate allows since the
// start (a token bucket without burst: the schedule, not the previous send, sets the pace).
bool LoadGen::publisherMayGenerate(const Client &c, int64_t now) const
{
    if (!publisherMayGenerate(c))
        return false;
    if (opt_.window > 0 && c.nextSeq >= slowestSubscriberSeq(c.index) + publisherWindow_[c.index])
        return false;
    if (opt_.rate <= 0)
        return true;
    const double perPublisher = opt_.rate / opt_.publishers;
    const double due = perPublisher * double(now - publishStartNs_) / 1e9;
    return double(c.nextSeq) < due;
}

void LoadGen::flush(Client &c)
{
    while (!c.out.empty()) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.out.consume(size_t(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        closeClient(c, true, n < 0 ? std::strerror(errno) : "send returned 0");
        return;
    }
}

void LoadGen::generatePublishes(Client &c, int64_t now)
{
    const size_t payload = size_t(opt_.payload);
    const uint8_t qos = uint8_t(opt_.qos);
    while (c.out.size() < kOutHighWater && publisherMayGenerate(c, now)) {
        uint16_t packetId = 0;
        if (qos > 0) {
            // Sequential ids; with at most `inflight` outstanding, a busy id is skipped only
            // after a wrap-around, so this loop runs at most `inflight` + 1 times.
            for (int tries = 0; tries < 65536; ++tries) {
                packetId = c.nextPacketId;
                c.nextPacketId = c.nextPacketId == 65535 ? 1 : c.nextPacketId + 1;
                if (!c.outstanding[packetId])
                    break;
            }
            c.outstanding[packetId] = true;
            ++c.inflight;
        }
        uint8_t *p = wire::appendPublish(c.out, c.topic, qos, packetId, payload);
        uint8_t stamp[kStampSize];
        uint8_t *s = opt_.jsonPayload ? stamp : p;
        putLe(s, uint64_t(now), 8);
        putLe(s + 8, uint64_t(c.index), 4);
        putLe(s + 12, c.nextSeq, 8);
        if (opt_.jsonPayload) {
            static const char hex[] = "0123456789abcdef";
            std::memcpy(p, kJsonHead, kJsonHeadSize);
            for (size_t i = 0; i < kStampSize; ++i) {
                p[kJsonHeadSize + 2 * i] = uint8_t(hex[stamp[i] >> 4]);
                p[kJsonHeadSize + 2 * i + 1] = uint8_t(hex[stamp[i] & 15]);
            }
            uint8_t *tail = p + kJsonHeadSize + 2 * kStampSize;
            std::memcpy(tail, kJsonTail, kJsonTailSize);
            const size_t used = kJsonHeadSize + 2 * kStampSize + kJsonTailSize;
            std::memset(p + used, ' ', payload - used);
        } else {
            std::memset(p + kStampSize, 'x', payload - kStampSize);
        }
        ++c.nextSeq;
        ++published_;
    }
}

void LoadGen::onWritable(Client &c)
{
    if (c.state == State::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            closeClient(c, true, std::strerror(err));
            return;
        }
        c.state = State::AwaitConnack;
        wire::appendConnect(c.out, c.clientId, uint16_t(opt_.keepAlive),
                            !(opt_.persistent && c.role == Role::Subscriber));
    } else if (c.role == Role::Publisher && c.out.size() < kOutHighWater &&
               publisherMayGenerate(c)) {
        generatePublishes(c, nowNs());
    }
    if (!c.out.empty()) {
        flush(c);
        c.lastSendNs = nowNs();
    }
    updateInterest(c);
}

void LoadGen::onReadable(Client &c)
{
    size_t total = 0;
    bool eof = false;
    const char *why = nullptr;
    while (total < kReadBudget) {
        uint8_t *p = c.in.reserveTail(kReadChunk);
        const ssize_t n = ::recv(c.fd, p, kReadChunk, MSG_DONTWAIT);
        if (n > 0) {
            c.in.commit(size_t(n));
            total += size_t(n);
            if (size_t(n) < kReadChunk)
                break;
            continue;
        }
        if (n == 0) {
            eof = true;
            why = "end of stream";
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            eof = true;
            why = std::strerror(errno);
        }
        break;
    }
    const int64_t now = nowNs();
    for (;;) {
        wire::Frame frame;
        size_t consumed = 0;
        const wire::ParseStatus status =
            wire::parseFrame(c.in.data(), c.in.size(), frame, consumed);
        if (status == wire::ParseStatus::NeedMore)
            break;
        if (status == wire::ParseStatus::Malformed) {
            ++protocolErrors_;
            closeClient(c, true, "malformed packet from broker");
            return;
        }
        handlePacket(c, frame.type, frame.flags, frame.body, frame.length, now);
        if (c.fd < 0)
            return;
        c.in.consume(consumed);
    }
    if (eof) {
        closeClient(c, true, why);
        return;
    }
    if (!c.out.empty()) {
        flush(c);
        c.lastSendNs = now;
    }
    updateInterest(c);
}

void LoadGen::handlePacket(Client &c, uint8_t type, uint8_t flags, const uint8_t *body,
                           uint32_t len, int64_t now)
{
    switch (type) {
    case wire::kConnack:
        if (c.state != State::AwaitConnack || len < 2) {
            ++protocolErrors_;
            return;
        }
        if (body[1] != 0) {
            closeClient(c, true, ("CONNACK return code " + std::to_string(body[1])).c_str());
            return;
        }
        c.state = State::Ready;
        if (body[0] & 0x01)
            ++sessionsPresent_;
        --connectInProgress_;
        ++connected_;
        return;
    case wire::kSuback:
        if (len < 3) {
            ++protocolErrors_;
            return;
        }
        if (body[2] == 0x80) {
            ++subscribeFailures_;
            fail("SUBACK refused " + c.topic);
        } else {
            c.subscribed = true;
        }
        return;
    case wire::kPublish:
        onPublishReceived(c, flags, body, len, now);
        return;
    case wire::kPuback: {
        const uint16_t id = len >= 2 ? wire::readU16(body) : 0;
        if (c.role == Role::Publisher && id != 0 && c.outstanding[id]) {
            c.outstanding[id] = false;
            --c.inflight;
            ++acked_;
            lastAckNs_ = nowNs();
        } else {
            ++unexpectedAcks_;
        }
        return;
    }
    case wire::kPingresp:
        ++pingsAnswered_;
        lastPingrespNs_ = now;
        return;
    default:
        ++protocolErrors_;
        return;
    }
}

void LoadGen::onPublishReceived(Client &c, uint8_t flags, const uint8_t *body, uint32_t len,
                                int64_t now)
{
    wire::Frame frame;
    frame.type = wire::kPublish;
    frame.flags = flags;
    frame.body = body;
    frame.length = len;
    wire::PublishView pub;
    if (c.role != Role::Subscriber || !wire::parsePublish(frame, pub) || pub.qos > 1) {
        ++protocolErrors_;
        return;
    }
    ++received_;
    lastReceiveNs_ = now;
    if (firstReceiveNs_ == 0)
        firstReceiveNs_ = now;
    if (pub.qos == 1)
        wire::appendPuback(c.out, pub.packetId); // §4.3.2: the receiver answers with PUBACK
    if (pub.payloadLength < kStampSize) {
        ++foreign_;
        return;
    }
    const uint8_t *stampAt = pub.payload;
    uint8_t decoded[kStampSize];
    if (opt_.jsonPayload) {
        if (pub.payloadLength < kJsonHeadSize + 2 * kStampSize) {
            ++foreign_;
            return;
        }
        auto nibble = [](uint8_t h) { return uint8_t(h <= '9' ? h - '0' : h - 'a' + 10); };
        const uint8_t *h = pub.payload + kJsonHeadSize;
        for (size_t i = 0; i < kStampSize; ++i)
            decoded[i] = uint8_t(nibble(h[2 * i]) << 4 | nibble(h[2 * i + 1]));
        stampAt = decoded;
    }
    const int64_t sent = int64_t(getLe(stampAt, 8));
    const uint64_t publisher = getLe(stampAt + 8, 4);
    const uint64_t seq = getLe(stampAt + 12, 8);
    if (publisher >= uint64_t(opt_.publishers) || !subscriberMatches(c.index, int(publisher))) {
        ++foreign_;
        return;
    }
    uint64_t &high = highest_[size_t(c.index) * size_t(opt_.publishers) + publisher];
    if (seq + 1 > high) {
        gaps_ += seq - high; // sequence numbers high .. seq-1 never arrived (so far)
        high = seq + 1;
        ++unique_;
        latency_.record(now > sent ? uint64_t(now - sent) : 0);
    } else {
        ++duplicates_; // a redelivery, or one that arrived after a later one (counted in gaps)
    }
}

void LoadGen::handleEvent(Client &c, uint32_t events)
{
    if (c.fd < 0)
        return;
    if (c.state == State::Connecting) {
        onWritable(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        onReadable(c);
    if (c.fd >= 0 && (events & EPOLLOUT))
        onWritable(c);
}

void LoadGen::loopOnce(int timeoutMs)
{
    epoll_event events[512];
    const int n = epoll_wait(epollFd_, events, 512, timeoutMs);
    for (int i = 0; i < n; ++i)
        handleEvent(clients_[events[i].data.u32], events[i].events);
}

void LoadGen::keepAliveTick(int64_t now)
{
    static int64_t lastTick = 0;
    if (now - lastTick < 1000000000)
        return;
    lastTick = now;
    const int64_t half = secondsToNs(opt_.keepAlive / 2.0);
    for (Client &c : clients_) {
        if (c.state != State::Ready || now - c.lastSendNs < half)
            continue;
        wire::appendPingreq(c.out);
        ++pingsSent_;
        flush(c);
        c.lastSendNs = now;
        updateInterest(c);
    }
}

int LoadGen::connectBatch(const std::vector<int> &ids, double timeoutSeconds, int64_t &elapsedNs)
{
    const int64_t start = nowNs();
    const int64_t deadline = start + secondsToNs(timeoutSeconds);
    const int readyBefore = connected_;
    size_t next = 0;
    for (;;) {
        while (next < ids.size() && connectInProgress_ < opt_.connectParallel)
            startConnect(clients_[ids[next++]]);
        if (next == ids.size() && connectInProgress_ == 0)
            break;
        if (nowNs() >= deadline) {
            fail("connect phase timed out");
            break;
        }
        loopOnce(5);
    }
    elapsedNs = nowNs() - start;
    // Whatever is still half-open at the deadline counts as a failure.
    for (int id : ids) {
        Client &c = clients_[id];
        if (c.state == State::Connecting || c.state == State::AwaitConnack)
            closeClient(c, true, "timed out");
    }
    return connected_ - readyBefore;
}

// Sequence number (+1) that every live subscriber of this publisher's topic has reached.
// A lost message does not hold the window shut: a later one moves the mark past it.
uint64_t LoadGen::slowestSubscriberSeq(int publisher) const
{
    uint64_t slowest = UINT64_MAX;
    for (int j = 0; j < opt_.subscribers; ++j) {
        if (clients_[subscriberIds_[j]].fd < 0 || !subscriberMatches(j, publisher))
            continue;
        slowest = std::min(slowest, highest_[size_t(j) * size_t(opt_.publishers) + publisher]);
    }
    return slowest == UINT64_MAX ? clients_[publisherIds_[publisher]].nextSeq : slowest;
}

uint64_t LoadGen::expectedDeliveries() const
{
    uint64_t expected = 0;
    for (int i = 0; i < opt_.publishers; ++i)
        expected += clients_[publisherIds_[i]].nextSeq * uint64_t(subsPerPublisher_[i]);
    return expected;
}

bool LoadGen::allDelivered() const
{
    for (int id : publisherIds_) {
        const Client &c = clients_[id];
        if (c.fd >= 0 && (!c.out.empty() || c.inflight > 0))
            return false;
    }
    return unique_ >= expectedDeliveries();
}

void LoadGen::sampleBroker(double &cpuSeconds, long &rssKb) const
{
    if (opt_.brokerPid <= 0)
        return;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", opt_.brokerPid);
    if (FILE *f = std::fopen(path, "r")) {
        char buf[1024];
        const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = 0;
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        if (const char *p = std::strrchr(buf, ')')) {
            unsigned long utime = 0, stime = 0;
            if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                            &stime) == 2)
                cpuSeconds = double(utime + stime) / double(sysconf(_SC_CLK_TCK));
        }
    }
    std::snprintf(path, sizeof path, "/proc/%d/status", opt_.brokerPid);
    if (FILE *f = std::fopen(path, "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "VmRSS: %ld kB", &rssKb) == 1)
                break;
        std::fclose(f);
    }
}

long LoadGen::brokerWriteSample() const
{
    if (opt_.brokerPid <= 0)
        return -1;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/io", opt_.brokerPid);
    long bytes = -1;
    if (FILE *f = std::fopen(path, "r")) {
        char line[128];
        while (std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "write_bytes: %ld", &bytes) == 1)
                break;
        std::fclose(f);
    }
    return bytes;
}

bool LoadGen::run()
{
    if (epollFd_ < 0) {
        fail(std::string("epoll_create1: ") + std::strerror(errno));
        return false;
    }
    if (opt_.payload < int(kStampSize)) {
        fail("--payload must be at least 20 bytes (the stamp)");
        return false;
    }
    if (opt_.jsonPayload && size_t(opt_.payload) < kJsonHeadSize + 2 * kStampSize + kJsonTailSize) {
        fail("--json-payload needs --payload of at least " +
             std::to_string(kJsonHeadSize + 2 * kStampSize + kJsonTailSize) + " bytes");
        return false;
    }
    setupClients();
    return opt_.scenario == Scenario::Idle ? runIdle() : runThroughput();
}

bool LoadGen::subscribeAll()
{
    for (int id : subscriberIds_) {
        Client &c = clients_[id];
        wire::appendSubscribe(c.out, 1, c.topic, uint8_t(opt_.qos));
        flush(c);
        updateInterest(c);
    }
    const int64_t subDeadline = nowNs() + secondsToNs(10);
    for (;;) {
        int done = 0;
        for (int id : subscriberIds_)
            done += clients_[id].subscribed || clients_[id].failed ? 1 : 0;
        if (done == int(subscriberIds_.size()))
            break;
        if (nowNs() >= subDeadline) {
            fail("SUBSCRIBE not acknowledged in 10 s");
            return false;
        }
        loopOnce(5);
    }
    return subscribeFailures_ == 0 && disconnects_ == 0;
}

void LoadGen::disconnectAll(const std::vector<int> &ids)
{
    for (int id : ids) {
        Client &c = clients_[id];
        if (c.fd < 0)
            continue;
        wire::appendDisconnect(c.out);
        flush(c);
        closeClient(c, false, "done");
    }
}

// Publishes for `seconds` (or `count` per publisher), then, for offline sessions, waits until
// every PUBLISH is acknowledged: the acknowledgement is the durability promise being measured.
bool LoadGen::publishPhase()
{
    sampleBroker(brokerCpuBefore_, brokerRssBefore_);
    brokerWriteBefore_ = brokerWriteSample();
    selfCpuBefore_ = selfCpuSeconds();
    publishing_ = true;
    publishStartNs_ = nowNs();
    for (int id : publisherIds_)
        updateInterest(clients_[id]);
    auto allCounted = [&] {
        if (opt_.count <= 0)
            return false;
        for (int id : publisherIds_)
            if (clients_[id].fd >= 0 && clients_[id].nextSeq < uint64_t(opt_.count))
                return false;
        return true;
    };
    const int64_t stopAt = publishStartNs_ + secondsToNs(opt_.count > 0 ? 3600 : opt_.seconds);
    // Paced publishers wake every millisecond to take up their schedule again.
    const int maxWaitMs = opt_.rate > 0 ? 1 : 10;
    for (int64_t now = nowNs(); now < stopAt && !allCounted(); now = nowNs()) {
        loopOnce(std::max<int>(0, std::min<int>(maxWaitMs, int((stopAt - now) / 1000000))));
        keepAliveTick(now);
        // Deliveries open windows and time opens rate budgets: re-arm the publishers.
        if (opt_.rate > 0 || opt_.window > 0)
            for (int id : publisherIds_)
                updateInterest(clients_[id]);
    }
    publishing_ = false;
    publishStopNs_ = nowNs();
    for (int id : publisherIds_)
        updateInterest(clients_[id]);
    if (!opt_.offline)
        return true;
    auto unacked = [&] {
        for (int id : publisherIds_) {
            const Client &c = clients_[id];
            if (c.fd >= 0 && (!c.out.empty() || c.inflight > 0))
                return true;
        }
        return false;
    };
    const int64_t ackDeadline = publishStopNs_ + secondsToNs(opt_.drainCap);
    while (unacked() && nowNs() < ackDeadline) {
        loopOnce(5);
        keepAliveTick(nowNs());
    }
    if (unacked())
        fail("PUBACKs missing " + std::to_string(opt_.drainCap) + " s after publishing stopped");
    sampleBroker(brokerCpuAcked_, brokerRssAfter_);
    brokerWriteAcked_ = brokerWriteSample();
    return true;
}

// Drain: stop when everything arrived, when nothing has arrived for `drain` seconds (what
// is missing then is lost, not late), or at a hard cap.
void LoadGen::drainPhase(int64_t since)
{
    const int64_t hardStop = since + secondsToNs(opt_.drainCap);
    const int64_t quiet = secondsToNs(opt_.drain);
    for (int64_t now = nowNs(); now < hardStop && !allDelivered(); now = nowNs()) {
        if (now - std::max(lastReceiveNs_, since) >= quiet)
            break;
        loopOnce(5);
        keepAliveTick(now);
    }
    drainEndNs_ = nowNs();
}

bool LoadGen::runThroughput()
{
    const bool publish = opt_.phase != "drain";
    const bool drain = opt_.phase != "fill";
    int64_t elapsed = 0;
    if (publish) {
        std::vector<int> all = subscriberIds_;
        if (!opt_.offline)
            all.insert(all.end(), publisherIds_.begin(), publisherIds_.end());
        if (connectBatch(all, opt_.connectTimeout, elapsed) != int(all.size()))
            return false;
        if (!subscribeAll())
            return false;
        if (opt_.offline) {
            // The sessions go offline; a short pause lets the broker finish each DISCONNECT
            // before the first PUBLISH arrives on another connection.
            disconnectAll(subscriberIds_);
            const int64_t settle = nowNs() + secondsToNs(0.3);
            while (nowNs() < settle)
                loopOnce(10);
            if (connectBatch(publisherIds_, opt_.connectTimeout, elapsed) !=
                int(publisherIds_.size()))
                return false;
        }
        if (!publishPhase())
            return false;
    } else {
        // Only draining queues filled earlier: count messages per publisher were sent.
        for (int id : publisherIds_)
            clients_[id].nextSeq = uint64_t(opt_.count);
        sampleBroker(brokerCpuBefore_, brokerRssBefore_);
        brokerWriteBefore_ = brokerWriteAcked_ = brokerWriteSample();
        selfCpuBefore_ = selfCpuSeconds();
        publishStartNs_ = publishStopNs_ = nowNs();
    }

    if (drain) {
        if (opt_.offline) {
            drainStartNs_ = nowNs();
            if (connectBatch(subscriberIds_, opt_.connectTimeout, elapsed) !=
                int(subscriberIds_.size()))
                return false;
            drainPhase(drainStartNs_);
        } else {
            drainPhase(publishStopNs_);
        }
    } else {
        drainEndNs_ = nowNs();
    }
    selfCpuAfter_ = selfCpuSeconds();
    sampleBroker(brokerCpuAfter_, opt_.offline ? brokerRssEnd_ : brokerRssAfter_);
    brokerWriteEnd_ = brokerWriteSample();
    disconnectAll(subscriberIds_);
    disconnectAll(publisherIds_);
    return true;
}

bool LoadGen::runIdle()
{
    sampleBroker(brokerCpuBefore_, brokerRssBefore_);
    connectBatch(idleIds_, opt_.connectTimeout, connectElapsedNs_);

    // Hold the connections: RSS is sampled once they settle, every connection is pinged once
    // half-way through, and the answers are counted.
    const int64_t holdStart = nowNs();
    const int64_t pingAt = holdStart + secondsToNs(opt_.seconds / 2);
    const int64_t sampleAt = holdStart + std::min<int64_t>(secondsToNs(0.5), pingAt - holdStart);
    const int64_t holdEnd = holdStart + secondsToNs(opt_.seconds);
    bool sampled = false, pinged = false;
    uint64_t pingsExpected = 0;
    for (int64_t now = nowNs(); now < holdEnd; now = nowNs()) {
        if (!sampled && now >= sampleAt) {
            sampleBroker(brokerCpuAfter_, brokerRssAfter_);
            sampled = true;
        }
        if (!pinged && now >= pingAt) {
            pingSentNs_ = now;
            for (int id : idleIds_) {
                Client &c = clients_[id];
                if (c.state != State::Ready)
                    continue;
                wire::appendPingreq(c.out);
                ++pingsSent_;
                ++pingsExpected;
                flush(c);
                c.lastSendNs = now;
                updateInterest(c);
            }
            pinged = true;
        }
        loopOnce(10);
        keepAliveTick(now);
    }
    const int64_t pingDeadline = nowNs() + secondsToNs(5);
    while (pingsAnswered_ < pingsSent_ && nowNs() < pingDeadline)
        loopOnce(10);
    if (!sampled)
        sampleBroker(brokerCpuAfter_, brokerRssAfter_);
    for (Client &c : clients_) {
        if (c.fd < 0)
            continue;
        wire::appendDisconnect(c.out);
        flush(c);
        closeClient(c, false, "done");
    }
    // Give the broker a moment to free the sessions, then see what it kept.
    const int64_t settle = nowNs() + secondsToNs(1);
    while (nowNs() < settle)
        loopOnce(50);
    double ignored = 0;
    sampleBroker(ignored, brokerRssEnd_);
    return true;
}

std::string LoadGen::resultJson() const
{
    Json j;
    j.str("scenario", scenarioName(opt_.scenario));
    j.str("host", opt_.host);
    j.integer("port", opt_.port);
    if (opt_.scenario == Scenario::Idle) {
        const double secs = double(connectElapsedNs_) / 1e9;
        j.integer("connections", opt_.connections);
        j.integer("connected", connected_);
        j.integer("connect_failures", int64_t(connectFailures_));
        j.num("connect_seconds", secs);
        j.num("connects_per_s", secs > 0 ? connected_ / secs : 0);
        j.integer("pings_sent", int64_t(pingsSent_));
        j.integer("pings_answered", int64_t(pingsAnswered_));
        // From sending all PINGREQs to the last PINGRESP (or the give-up point if some never came).
        if (pingSentNs_ > 0 && lastPingrespNs_ >= pingSentNs_)
            j.num("pings_last_answer_s", double(lastPingrespNs_ - pingSentNs_) / 1e9);
        j.integer("disconnects", int64_t(disconnects_));
        if (opt_.brokerPid > 0) {
            j.integer("broker_rss_kb_before", brokerRssBefore_);
            j.integer("broker_rss_kb_connected", brokerRssAfter_);
            j.integer("broker_rss_kb_after_close", brokerRssEnd_);
            if (connected_ > 0 && brokerRssBefore_ >= 0 && brokerRssAfter_ >= 0)
                j.num("broker_kb_per_connection",
                      double(brokerRssAfter_ - brokerRssBefore_) / connected_);
        }
    } else {
        const double pubSecs = double(publishStopNs_ - publishStartNs_) / 1e9;
        const int64_t lastDelivery = std::max(lastReceiveNs_, publishStartNs_);
        const double deliverSecs = double(lastDelivery - publishStartNs_) / 1e9;
        const uint64_t expected = expectedDeliveries();
        j.integer("qos", opt_.qos);
        j.integer("publishers", opt_.publishers);
        j.integer("subscribers", opt_.subscribers);
        j.integer("payload", opt_.payload);
        j.raw("json_payload", opt_.jsonPayload ? "true" : "false");
        j.num("rate", opt_.rate);
        j.integer("window", opt_.window);
        j.num("seconds", pubSecs);
        j.integer("published", int64_t(published_));
        if (opt_.qos > 0)
            j.integer("acked", int64_t(acked_));
        j.integer("expected", int64_t(expected));
        j.integer("received", int64_t(received_));
        j.integer("unique", int64_t(unique_));
        j.integer("lost", int64_t(expected > unique_ ? expected - unique_ : 0));
        j.integer("gaps", int64_t(gaps_));
        j.integer("duplicates", int64_t(duplicates_));
        j.integer("foreign", int64_t(foreign_));
        j.num("pub_per_s", pubSecs > 0 ? double(published_) / pubSecs : 0);
        j.num("delivered_per_s", deliverSecs > 0 ? double(unique_) / deliverSecs : 0);
        j.num("delivery_window_s", deliverSecs);
        j.num("drain_s", double(drainEndNs_ - publishStopNs_) / 1e9);
        j.num("latency_p50_us", double(latency_.quantile(0.50)) / 1e3);
        j.num("latency_p99_us", double(latency_.quantile(0.99)) / 1e3);
        j.num("latency_max_us", double(latency_.max()) / 1e3);
        // Near 1.0 means the load generator, not the broker, set the pace.
        const double measuredSecs = double(drainEndNs_ - publishStartNs_) / 1e9;
        j.num("loadgen_cpu_s", selfCpuAfter_ - selfCpuBefore_);
        if (measuredSecs > 0)
            j.num("loadgen_cpu_share", (selfCpuAfter_ - selfCpuBefore_) / measuredSecs);
        j.integer("unexpected_acks", int64_t(unexpectedAcks_));
        j.integer("disconnects", int64_t(disconnects_));
        j.integer("connect_failures", int64_t(connectFailures_));
        if (opt_.persistent || opt_.offline) {
            j.integer("persistent", 1);
            j.integer("offline", opt_.offline ? 1 : 0);
            j.str("phase", opt_.phase);
            j.integer("sessions_present", int64_t(sessionsPresent_));
        }
        if (opt_.qos > 0 && lastAckNs_ > publishStartNs_)
            j.num("acked_per_s", double(acked_) / (double(lastAckNs_ - publishStartNs_) / 1e9));
        if (opt_.offline && drainStartNs_ > 0) {
            // From the reconnect to the last delivery: how fast a stored queue empties.
            const double secs =
                double(std::max(lastReceiveNs_, drainStartNs_) - drainStartNs_) / 1e9;
            j.num("drain_window_s", secs);
            j.num("drained_per_s", secs > 0 ? double(unique_) / secs : 0);
        }
        if (brokerWriteBefore_ >= 0 && brokerWriteEnd_ >= 0) {
            j.integer("broker_write_bytes_publish",
                      brokerWriteAcked_ >= 0 ? brokerWriteAcked_ - brokerWriteBefore_ : -1);
            j.integer("broker_write_bytes_total", brokerWriteEnd_ - brokerWriteBefore_);
        }
        if (opt_.brokerPid > 0 && brokerCpuBefore_ >= 0 && brokerCpuAcked_ >= 0)
            j.num("broker_cpu_s_publish", brokerCpuAcked_ - brokerCpuBefore_);
        if (opt_.brokerPid > 0 && brokerCpuBefore_ >= 0 && brokerCpuAfter_ >= 0) {
            const double cpu = brokerCpuAfter_ - brokerCpuBefore_;
            j.num("broker_cpu_s", cpu);
            if (unique_ > 0)
                j.num("broker_cpu_s_per_million", cpu * 1e6 / double(unique_));
            j.integer("broker_rss_kb", brokerRssAfter_);
        }
    }
    j.integer("protocol_errors", int64_t(protocolErrors_));
    if (!opt_.nofileNote.empty())
        j.str("nofile", opt_.nofileNote);
    j.str("error", error_);
    return j.done();
}

} // namespace ferry::bench
