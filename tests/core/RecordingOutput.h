#pragma once
// A SessionOutput that records what the core asked to send: the core's side of the seam is
// what is under test here; the MQTT adapter that implements it for real is tested over sockets.
#include "core/SessionOutput.h"

#include <QList>

struct SentPublish {
    ferry::core::Delivery delivery;
    std::uint16_t packetId;
    bool dup;
};

class RecordingOutput : public ferry::core::SessionOutput {
public:
    bool sendPublish(const ferry::core::Delivery &delivery, std::uint16_t packetId, bool dup) override
    {
        if (refuseAll)
            return false;
        publishes.append({delivery, packetId, dup});
        return true;
    }
    void sendPubrel(std::uint16_t packetId) override { pubrels.append(packetId); }
    void sessionTakenOver() override { ++takenOver; if (onTakenOver) onTakenOver(); }

    QList<SentPublish> publishes;
    QList<std::uint16_t> pubrels;
    int takenOver = 0;
    bool refuseAll = false;
    std::function<void()> onTakenOver;
};
