#pragma once
// Helpers shared by the ServerProtocol tests: a ProtocolSink that records what the protocol
// asks of its transport, a PacketHandler that records what it hands upward, hex literals with
// comments, and a splitter that cuts the recorded byte stream into packets by reading the
// fixed header itself (test code, not the codec under test).

#include "mqtt/PacketHandler.h"
#include "mqtt/ProtocolSink.h"
#include "mqtt/ServerProtocol.h"

#include <QByteArray>
#include <QList>
#include <QStringList>
#include <QTest>

#include <functional>

namespace prototest {

using namespace ferry::mqtt;

// Hex bytes written one field a line: whitespace ignored, "|" starts a comment to end of line.
inline QByteArray hex(const char *text)
{
    QByteArray digits;
    bool comment = false;
    for (const char *p = text; *p; ++p) {
        if (*p == '\n')
            comment = false;
        else if (*p == '|')
            comment = true;
        else if (!comment && QByteArray("0123456789abcdefABCDEF").contains(*p))
            digits.append(*p);
    }
    Q_ASSERT(digits.size() % 2 == 0);
    return QByteArray::fromHex(digits);
}

// Cuts a byte stream into whole MQTT packets (fixed header + Remaining Length + body). A
// trailing partial packet is returned as the last element so a test comparing lists sees it.
inline QList<QByteArray> splitPackets(const QByteArray &stream)
{
    QList<QByteArray> out;
    qsizetype pos = 0;
    while (pos < stream.size()) {
        qsizetype p = pos + 1;
        quint32 length = 0;
        int shift = 0;
        bool complete = false;
        for (int i = 0; i < 4 && p < stream.size(); ++i, ++p) {
            const auto byte = quint8(stream.at(p));
            length |= quint32(byte & 0x7f) << shift;
            shift += 7;
            if (!(byte & 0x80)) {
                complete = true;
                ++p;
                break;
            }
        }
        if (!complete || p + qsizetype(length) > stream.size()) {
            out.append(stream.mid(pos));
            break;
        }
        out.append(stream.mid(pos, p + qsizetype(length) - pos));
        pos = p + qsizetype(length);
    }
    return out;
}

inline const char *timerName(ProtocolTimer t)
{
    return t == ProtocolTimer::Connect ? "connect" : "keepalive";
}

// Records every call in order, as text a failing QCOMPARE prints readably:
// "send <hex>", "arm keepalive 15000", "cancel connect", "close".
class RecordingSink : public ProtocolSink {
public:
    void sendBytes(const QByteArray &bytes) override
    {
        sent.append(bytes);
        log.append(QStringLiteral("send ") + QString::fromLatin1(bytes.toHex(' ')));
    }
    void armTimer(ProtocolTimer timer, int milliseconds) override
    {
        armed.append({timer, milliseconds});
        log.append(QStringLiteral("arm %1 %2").arg(timerName(timer)).arg(milliseconds));
    }
    void cancelTimer(ProtocolTimer timer) override
    {
        log.append(QStringLiteral("cancel %1").arg(timerName(timer)));
    }
    void closeTransport() override
    {
        ++closes;
        log.append(QStringLiteral("close"));
    }
    qint64 pendingOutputBytes() const override { return pending; }

    QList<QByteArray> packets() const { return splitPackets(sent); }
    // Everything sent since the last clear(); the log and counters are reset too.
    void clear()
    {
        sent.clear();
        log.clear();
        armed.clear();
        closes = 0;
    }
    int armCount(ProtocolTimer timer) const
    {
        int n = 0;
        for (const auto &a : armed)
            n += a.first == timer ? 1 : 0;
        return n;
    }
    // The most recent arm of `timer`, or -1.
    int lastArm(ProtocolTimer timer) const
    {
        for (qsizetype i = armed.size() - 1; i >= 0; --i)
            if (armed.at(i).first == timer)
                return armed.at(i).second;
        return -1;
    }

    QByteArray sent;
    QStringList log;
    QList<QPair<ProtocolTimer, int>> armed;
    int closes = 0;
    qint64 pending = 0;
};

// Keeps copies of everything handed upward. `connectHook` runs inside onConnect (as the real
// adapter answers CONNACK from there); `disconnectHook` inside onDisconnect.
class RecordingHandler : public PacketHandler {
public:
    void onConnect(Connect &connect) override
    {
        connects.append(connect);
        if (connectHook)
            connectHook(connect);
    }
    void onPublish(Publish &publish) override { publishes.append(publish); }
    void onPubResponse(const PubResponse &response) override { responses.append(response); }
    void onSubscribe(Subscribe &subscribe) override { subscribes.append(subscribe); }
    void onUnsubscribe(Unsubscribe &unsubscribe) override { unsubscribes.append(unsubscribe); }
    void onDisconnect(const Disconnect &disconnect) override
    {
        disconnects.append(disconnect);
        if (disconnectHook)
            disconnectHook(disconnect);
    }
    void onClosed(bool graceful, const char *reason) override
    {
        closed.append(graceful);
        closeReasons.append(QByteArray(reason));
    }
    QList<QByteArray> closeReasons;

    int upwardCalls() const
    {
        return int(connects.size() + publishes.size() + responses.size() + subscribes.size() +
                   unsubscribes.size() + disconnects.size());
    }

    std::function<void(Connect &)> connectHook;
    std::function<void(const Disconnect &)> disconnectHook;
    QList<Connect> connects;
    QList<Publish> publishes;
    QList<PubResponse> responses;
    QList<Subscribe> subscribes;
    QList<Unsubscribe> unsubscribes;
    QList<Disconnect> disconnects;
    QList<bool> closed;
};

// Settings whose CONNACK advertises nothing (every capability at the value a client assumes
// when the property is absent), so tests not about capabilities can write CONNACK short.
inline ProtocolSettings plainSettings()
{
    ProtocolSettings s;
    s.maxPacketSize = Decoder::ProtocolMaxPacketSize;
    s.receiveMaximum = 65535;
    s.maxTopicAlias = 0;
    return s;
}

} // namespace prototest
