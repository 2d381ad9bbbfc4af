#pragma once
// UTF-8 Encoded String validation for MQTT (5.0 spec 1.5.4, 3.1.1 spec 1.5.3).

#include <QtGlobal>

namespace ferry::mqtt {

// True if data[0..size) is well-formed UTF-8 (RFC 3629) with none of what MQTT forbids:
// - "The character data in a UTF-8 Encoded String MUST be well-formed UTF-8 as defined by the
//   Unicode specification and restated in RFC 3629. In particular, the character data MUST NOT
//   include encodings of code points between U+D800 and U+DFFF" [MQTT-1.5.4-1]
//   (overlong forms and code points above U+10FFFF are not well-formed either);
// - "A UTF-8 Encoded String MUST NOT include an encoding of the null character U+0000"
//   [MQTT-1.5.4-2].
// Other control characters and non-characters are allowed: the spec only says a receiver MAY
// close the connection for them (1.5.4), and clients in the field do send them.
// Pure ASCII runs are checked eight bytes at a time.
bool isValidMqttUtf8(const char *data, qsizetype size);

} // namespace ferry::mqtt
