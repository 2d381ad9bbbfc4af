#include "net/TcpListener.h"

#include "net/TcpTransport.h"

#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QTimer>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

Q_DECLARE_LOGGING_CATEGORY(lcNet)

namespace ferry::net {

namespace {
// Kernel queue of completed handshakes not yet accepted: bursts of connects wait here.
constexpr int kBacklog = 1024;
// Connections accepted per readiness event; level-triggered epoll reports the rest next turn,
// so established clients are served between batches of a connect storm.
constexpr int kAcceptsPerEvent = 256;
// Out of descriptors: stop accepting for this long instead of spinning on a ready listener.
constexpr int kFdExhaustedPauseMs = 100;

} // namespace

TcpListener::TcpListener(QObject *parent) : Listener(parent) {}

TcpListener::~TcpListener()
{
    close();
}

bool TcpListener::listen(const QHostAddress &address, quint16 port, QString *error)
{
    close();
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET6;
    int v6only = -1; // leave the system default
    if (address == QHostAddress::AnyIPv4 || address.protocol() == QAbstractSocket::IPv4Protocol) {
        family = AF_INET;
        auto &in = reinterpret_cast<sockaddr_in &>(ss);
        in.sin_family = AF_INET;
        in.sin_port = htons(port);
        in.sin_addr.s_addr =
            htonl(address == QHostAddress::AnyIPv4 ? INADDR_ANY : address.toIPv4Address());
        len = sizeof in;
    } else {
        auto &in6 = reinterpret_cast<sockaddr_in6 &>(ss);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        if (address == QHostAddress::Any || address.isNull()) {
            in6.sin6_addr = in6addr_any;
            v6only = 0;
        } else {
            const Q_IPV6ADDR a = address.toIPv6Address();
            std::memcpy(&in6.sin6_addr, a.c, 16);
            in6.sin6_scope_id = address.scopeId().toUInt();
            v6only = 1;
        }
        len = sizeof in6;
    }
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (v6only >= 0 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0) ||
        ::bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0 || ::listen(fd, kBacklog) != 0) {
        *error = QString::fromLocal8Bit(std::strerror(errno));
        if (fd >= 0)
            ::close(fd);
        return false;
    }
    sockaddr_storage bound{};
    socklen_t boundLen = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &boundLen);
    m_port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in &>(bound).sin_port
                                              : reinterpret_cast<sockaddr_in6 &>(bound).sin6_port);
    m_fd = fd;
    m_notifier = new QSocketNotifier(fd, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &TcpListener::acceptAll);
    return true;
}

void TcpListener::close()
{
    delete m_notifier;
    m_notifier = nullptr;
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

void TcpListener::acceptAll()
{
    for (int i = 0; i < kAcceptsPerEvent && m_fd >= 0; ++i) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int fd =
            ::accept4(m_fd, reinterpret_cast<sockaddr *>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                qCWarning(lcNet, "tcp_accept_paused reason=%s pause_ms=%d", std::strerror(errno),
                          kFdExhaustedPauseMs);
                m_notifier->setEnabled(false);
                QTimer::singleShot(kFdExhaustedPauseMs, m_notifier,
                                   [n = m_notifier] { n->setEnabled(true); });
            }
            return; // EAGAIN: drained; ECONNABORTED and the like: the next one is fine
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        emit newTransport(new TcpTransport(fd, formatSocketAddress(ss)));
    }
}

} // namespace ferry::net
