// The broker core without any protocol: sessions, routing, retained messages, wills, shared
// subscriptions, in-flight windows and queues. Spec references are MQTT 5.0 (OASIS).
#include "RecordingOutput.h"
#include "core/Broker.h"

#include <QCoreApplication>
#include <QTest>

using namespace ferry::core;

namespace {
SubscriptionOptions qos(std::uint8_t q)
{
    SubscriptionOptions o;
    o.maxQos = q;
    return o;
}
Message msg(const char *topic, const char *payload, std::uint8_t q = 0, bool retain = false)
{
    return Message(topic, payload, q, retain);
}
} // namespace

class TestBroker : public QObject {
    Q_OBJECT
private slots:
    void deliversToMatchingSubscribersOnly()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput a, b;
        Session *sa = broker.attachSession("a", true, 0, &a, 100).session;
        Session *sb = broker.attachSession("b", true, 0, &b, 100).session;
        broker.subscribe(sa, "sensors/+/temp", qos(1));
        broker.subscribe(sb, "sensors/#", qos(0));
        const auto outcome = broker.publish(msg("sensors/1/temp", "21", 1));
        QCOMPARE(outcome.receivers, 2);
        QCOMPARE(a.publishes.size(), 1);
        QCOMPARE(a.publishes[0].delivery.qos, std::uint8_t(1));
        QVERIFY(a.publishes[0].packetId != 0);
        QCOMPARE(b.publishes.size(), 1);
        QCOMPARE(b.publishes[0].delivery.qos, std::uint8_t(0)); // min(published, granted)
        QCOMPARE(b.publishes[0].packetId, std::uint16_t(0));
        broker.publish(msg("other", "x"));
        QCOMPARE(a.publishes.size(), 1);
        QCOMPARE(b.publishes.size(), 1);
    }

    void fanOutSharesOnePayload()
    {
        Limits limits;
        Broker broker(limits);
        QList<RecordingOutput *> outputs;
        for (int i = 0; i < 50; ++i) {
            auto *o = new RecordingOutput;
            outputs.append(o);
            Session *s = broker.attachSession("c" + QByteArray::number(i), true, 0, o, 100).session;
            broker.subscribe(s, "fan/#", qos(0));
        }
        broker.publish(msg("fan/out", "payload"));
        const QByteArray &first = outputs[0]->publishes[0].delivery.message.payload();
        for (RecordingOutput *o : outputs) {
            QCOMPARE(o->publishes.size(), 1);
            // The same bytes object: no copy per subscriber.
            QCOMPARE(o->publishes[0].delivery.message.payload().constData(), first.constData());
        }
        qDeleteAll(outputs);
    }

    void overlappingSubscriptionsGiveOneCopyWithAllIdentifiers_MQTT_3_3_4_3()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("a", true, 0, &out, 100).session;
        SubscriptionOptions o1 = qos(0);
        o1.identifier = 7;
        SubscriptionOptions o2 = qos(2);
        o2.identifier = 9;
        broker.subscribe(s, "a/+", o1);
        broker.subscribe(s, "a/#", o2);
        broker.publish(msg("a/b", "x", 2));
        QCOMPARE(out.publishes.size(), 1);
        QCOMPARE(out.publishes[0].delivery.qos, std::uint8_t(2)); // the maximum (3.3.4-2)
        QList<std::uint32_t> ids = out.publishes[0].delivery.subscriptionIds;
        std::sort(ids.begin(), ids.end());
        QCOMPARE(ids, (QList<std::uint32_t>{7, 9}));
    }

    void noLocalSkipsOwnMessages_MQTT_3_8_3_3()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("me", true, 0, &out, 100).session;
        SubscriptionOptions o = qos(0);
        o.noLocal = true;
        broker.subscribe(s, "t", o);
        Message own = msg("t", "x");
        own.edit().originClientId = "me";
        broker.publish(own);
        QCOMPARE(out.publishes.size(), 0);
        Message other = msg("t", "y");
        other.edit().originClientId = "you";
        broker.publish(other);
        QCOMPARE(out.publishes.size(), 1);
    }

    void retainFlagClearedOnEstablishedSubscription_MQTT_3_3_1_12()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("a", true, 0, &out, 100).session;
        broker.subscribe(s, "r", qos(0));
        SubscriptionOptions rap = qos(0);
        rap.retainAsPublished = true;
        broker.subscribe(s, "r/+", rap);
        broker.publish(msg("r", "1", 0, true));
        broker.publish(msg("r/x", "2", 0, true));
        QCOMPARE(out.publishes.size(), 2);
        QCOMPARE(out.publishes[0].delivery.retain, false);
        QCOMPARE(out.publishes[1].delivery.retain, true); // retain as published (3.3.1-13)
    }

    void retainedDeliveredOnSubscribeWithRetainHandling_MQTT_3_3_1_9_and_3_3_1_10_and_3_3_1_11()
    {
        Limits limits;
        Broker broker(limits);
        broker.publish(msg("r/1", "one", 1, true));
        broker.publish(msg("r/2", "two", 0, true));
        RecordingOutput out;
        Session *s = broker.attachSession("a", true, 0, &out, 100).session;

        SubscriptionOptions o = qos(1);
        bool isNew = broker.subscribe(s, "r/#", o);
        broker.deliverRetained(s, "r/#", o, isNew);
        QCOMPARE(out.publishes.size(), 2);
        for (const auto &p : out.publishes)
            QVERIFY(p.delivery.retain);

        // Retain handling 1: only when the subscription is new.
        o.retainHandling = 1;
        isNew = broker.subscribe(s, "r/#", o);
        QVERIFY(!isNew);
        broker.deliverRetained(s, "r/#", o, isNew);
        QCOMPARE(out.publishes.size(), 2);
        // Retain handling 2: never.
        o.retainHandling = 2;
        isNew = broker.subscribe(s, "r/+", o);
        broker.deliverRetained(s, "r/+", o, isNew);
        QCOMPARE(out.publishes.size(), 2);
        // Retain handling 0: always, even when the subscription exists.
        o.retainHandling = 0;
        isNew = broker.subscribe(s, "r/+", o);
        broker.deliverRetained(s, "r/+", o, isNew);
        QCOMPARE(out.publishes.size(), 4);
    }

    void emptyRetainedPayloadClears_MQTT_3_3_1_6()
    {
        Limits limits;
        Broker broker(limits);
        broker.publish(msg("r", "v", 0, true));
        QCOMPARE(broker.retained().count(), 1);
        broker.publish(msg("r", "", 0, true));
        QCOMPARE(broker.retained().count(), 0);
    }

    void inflightWindowQueuesTheRest()
    {
        Limits limits;
        limits.maxInflight = 2;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("a", true, 0, &out, 100).session;
        broker.subscribe(s, "q", qos(1));
        for (int i = 0; i < 5; ++i)
            broker.publish(msg("q", QByteArray::number(i).constData(), 1));
        QCOMPARE(out.publishes.size(), 2);
        QCOMPARE(s->queuedCount(), 3);
        QVERIFY(s->onPuback(out.publishes[0].packetId));
        QCOMPARE(out.publishes.size(), 3);
        QCOMPARE(out.publishes[2].delivery.message.payload(), QByteArray("2")); // in order
        QVERIFY(!s->onPuback(out.publishes[0].packetId)); // already acknowledged
    }

    void clientReceiveMaximumCapsTheWindow_MQTT_3_3_4_9()
    {
        Limits limits;
        limits.maxInflight = 20;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("a", true, 0, &out, 3).session;
        broker.subscribe(s, "q", qos(2));
        for (int i = 0; i < 10; ++i)
            broker.publish(msg("q", "x", 2));
        QCOMPARE(out.publishes.size(), 3);
    }

    void qos2FlowReleasesWithPubrelThenPubcomp_MQTT_4_3_3()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("a", true, 0, &out, 100).session;
        broker.subscribe(s, "q", qos(2));
        broker.publish(msg("q", "x", 2));
        const auto id = out.publishes[0].packetId;
        QVERIFY(!s->onPuback(id));  // wrong acknowledgement for QoS 2
        QVERIFY(!s->onPubcomp(id)); // PUBCOMP before PUBREC
        QVERIFY(s->onPubrec(id, false));
        QCOMPARE(out.pubrels, QList<std::uint16_t>{id});
        QVERIFY(s->onPubcomp(id));
        QCOMPARE(s->inflightCount(), 0);
    }

    void overflowDropOldestCountsAndKeepsNewest()
    {
        Limits limits;
        limits.maxQueuedMessages = 3;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("p", false, Session::NeverExpires, &out, 100).session;
        broker.subscribe(s, "q", qos(1));
        broker.detachSession(s, std::nullopt, 0);
        for (int i = 0; i < 5; ++i)
            broker.publish(msg("q", QByteArray::number(i).constData(), 1));
        QCOMPARE(broker.stats().messagesDropped, std::uint64_t(2));
        RecordingOutput again;
        auto attach = broker.attachSession("p", false, Session::NeverExpires, &again, 100);
        QVERIFY(attach.sessionPresent);
        attach.session->resumeDelivery();
        QCOMPARE(again.publishes.size(), 3);
        QCOMPARE(again.publishes[0].delivery.message.payload(), QByteArray("2"));
    }

    void overflowRefuseIsReported()
    {
        Limits limits;
        limits.maxQueuedMessages = 1;
        limits.overflow = OverflowPolicy::Refuse;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("p", false, Session::NeverExpires, &out, 100).session;
        broker.subscribe(s, "q", qos(1));
        broker.detachSession(s, std::nullopt, 0);
        QCOMPARE(broker.publish(msg("q", "1", 1)).refused, 0);
        QCOMPARE(broker.publish(msg("q", "2", 1)).refused, 1);
        QCOMPARE(broker.stats().messagesRefused, std::uint64_t(1));
    }

    void offlineQos0IsNotQueued()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("p", false, Session::NeverExpires, &out, 100).session;
        broker.subscribe(s, "q", qos(1));
        broker.detachSession(s, std::nullopt, 0);
        broker.publish(msg("q", "zero", 0));
        QCOMPARE(s->queuedCount(), 0);
    }

    void reconnectResendsInflightWithDup_MQTT_4_4_0_1()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput first;
        Session *s = broker.attachSession("p", false, Session::NeverExpires, &first, 100).session;
        broker.subscribe(s, "q", qos(2));
        broker.publish(msg("q", "a", 1));
        broker.publish(msg("q", "b", 2));
        QVERIFY(s->onPubrec(first.publishes[1].packetId, false));
        broker.detachSession(s, std::nullopt, 0);

        RecordingOutput second;
        auto attach = broker.attachSession("p", false, Session::NeverExpires, &second, 100);
        attach.session->resumeDelivery();
        QCOMPARE(second.publishes.size(), 1);
        QVERIFY(second.publishes[0].dup);
        QCOMPARE(second.publishes[0].packetId, first.publishes[0].packetId);
        QCOMPARE(second.pubrels, QList<std::uint16_t>{first.publishes[1].packetId});
    }

    void cleanStartDiscardsSession_MQTT_3_1_2_4()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("p", false, Session::NeverExpires, &out, 100).session;
        broker.subscribe(s, "q", qos(1));
        broker.detachSession(s, std::nullopt, 0);
        auto attach = broker.attachSession("p", true, 0, &out, 100);
        QVERIFY(!attach.sessionPresent);
        QVERIFY(attach.session->subscriptions().isEmpty());
        QCOMPARE(broker.router().subscriptionCount(), 0);
    }

    void takeoverTellsTheOldConnection_MQTT_3_1_4_3()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput old;
        Session *s = broker.attachSession("p", false, Session::NeverExpires, &old, 100).session;
        old.onTakenOver = [&] { broker.detachSession(s, std::nullopt, 0); };
        RecordingOutput fresh;
        auto attach = broker.attachSession("p", false, Session::NeverExpires, &fresh, 100);
        QCOMPARE(old.takenOver, 1);
        QVERIFY(attach.sessionPresent);
        QCOMPARE(attach.session->output(), &fresh);
        QCOMPARE(broker.stats().clientsConnected, std::uint64_t(1));
    }

    void willPublishedAtOnceWithoutDelay()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput watcher, dying;
        Session *w = broker.attachSession("w", true, 0, &watcher, 100).session;
        broker.subscribe(w, "wills/#", qos(1));
        Session *d = broker.attachSession("d", true, 0, &dying, 100).session;
        broker.detachSession(d, msg("wills/d", "gone", 1), 0);
        QCOMPARE(watcher.publishes.size(), 1);
        QCOMPARE(watcher.publishes[0].delivery.message.payload(), QByteArray("gone"));
    }

    void delayedWillCancelledByReconnect_MQTT_3_1_3_9()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput watcher, dying;
        Session *w = broker.attachSession("w", true, 0, &watcher, 100).session;
        broker.subscribe(w, "wills/#", qos(1));
        Session *d = broker.attachSession("d", false, 60, &dying, 100).session;
        broker.detachSession(d, msg("wills/d", "gone", 1), 30);
        QCOMPARE(watcher.publishes.size(), 0);
        broker.attachSession("d", false, 60, &dying, 100);
        broker.shutdown(); // would send still-pending wills
        QCOMPARE(watcher.publishes.size(), 0);
    }

    void delayedWillSentWhenSessionEnds_MQTT_3_1_3_9()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput watcher, dying;
        Session *w = broker.attachSession("w", true, 0, &watcher, 100).session;
        broker.subscribe(w, "wills/#", qos(1));
        Session *d = broker.attachSession("d", false, 60, &dying, 100).session;
        broker.detachSession(d, msg("wills/d", "gone", 1), 30);
        // A new connection with clean start ends the old session: the will goes now.
        broker.attachSession("d", true, 0, &dying, 100);
        QCOMPARE(watcher.publishes.size(), 1);
    }

    void sharedSubscriptionRoundRobin_MQTT_4_8_2()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput a, b, plain;
        Session *sa = broker.attachSession("a", true, 0, &a, 100).session;
        Session *sb = broker.attachSession("b", true, 0, &b, 100).session;
        Session *sp = broker.attachSession("p", true, 0, &plain, 100).session;
        broker.subscribe(sa, "$share/g/jobs/#", qos(1));
        broker.subscribe(sb, "$share/g/jobs/#", qos(1));
        broker.subscribe(sp, "jobs/#", qos(1));
        for (int i = 0; i < 6; ++i)
            broker.publish(msg("jobs/x", "j", 1));
        QCOMPARE(a.publishes.size(), 3);
        QCOMPARE(b.publishes.size(), 3);
        QCOMPARE(plain.publishes.size(), 6);
    }

    void sharedMemberLeavingHandsOverUnackedQos1_MQTT_4_8_2()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput a, b;
        Session *sa = broker.attachSession("a", false, 60, &a, 100).session;
        Session *sb = broker.attachSession("b", true, 0, &b, 100).session;
        broker.subscribe(sa, "$share/g/jobs", qos(1));
        broker.subscribe(sb, "$share/g/jobs", qos(1));
        broker.publish(msg("jobs", "1", 1)); // to a
        broker.publish(msg("jobs", "2", 1)); // to b
        QCOMPARE(a.publishes.size(), 1);
        broker.detachSession(sa, std::nullopt, 0); // a leaves without acknowledging
        QCOMPARE(b.publishes.size(), 2);
        QCOMPARE(b.publishes[1].delivery.message.payload(), QByteArray("1"));
        QCOMPARE(sa->inflightCount(), 0);
    }

    void sharedSubscriptionGetsNoRetained()
    {
        Limits limits;
        Broker broker(limits);
        broker.publish(msg("jobs", "r", 0, true));
        RecordingOutput a;
        Session *sa = broker.attachSession("a", true, 0, &a, 100).session;
        const bool isNew = broker.subscribe(sa, "$share/g/jobs", qos(1));
        broker.deliverRetained(sa, "$share/g/jobs", qos(1), isNew);
        QCOMPARE(a.publishes.size(), 0);
    }

    void expiredQueuedMessageIsNotDelivered_MQTT_3_3_2_5()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("p", false, Session::NeverExpires, &out, 100).session;
        broker.subscribe(s, "q", qos(1));
        broker.detachSession(s, std::nullopt, 0);
        Message m = msg("q", "old", 1);
        m.edit().expiresAtMs = QDateTime::currentMSecsSinceEpoch() - 1;
        broker.publish(m);
        broker.publish(msg("q", "fresh", 1));
        auto attach = broker.attachSession("p", false, Session::NeverExpires, &out, 100);
        attach.session->resumeDelivery();
        QCOMPARE(out.publishes.size(), 1);
        QCOMPARE(out.publishes[0].delivery.message.payload(), QByteArray("fresh"));
    }

    void unsubscribeStopsDelivery()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput out;
        Session *s = broker.attachSession("a", true, 0, &out, 100).session;
        broker.subscribe(s, "x/#", qos(0));
        QVERIFY(broker.unsubscribe(s, "x/#"));
        QVERIFY(!broker.unsubscribe(s, "x/#"));
        broker.publish(msg("x/1", "v"));
        QCOMPARE(out.publishes.size(), 0);
        QCOMPARE(broker.router().subscriptionCount(), 0);
    }

    void tooLargeForClientIsDroppedAndCounted()
    {
        Limits limits;
        Broker broker(limits);
        RecordingOutput out;
        out.refuseAll = true;
        Session *s = broker.attachSession("a", true, 0, &out, 100).session;
        broker.subscribe(s, "x", qos(1));
        broker.publish(msg("x", "big", 1));
        QCOMPARE(s->inflightCount(), 0);
    }
};

QTEST_GUILESS_MAIN(TestBroker)
#include "tst_broker.moc"
