#pragma once

// Reading the configuration files.
//
// Which files: `loadConfigFile("/etc/ferry/ferry.toml")` reads that file, then every
// `/etc/ferry/conf.d/*.toml` (the conf.d folder next to the main file; hidden files and other
// extensions are ignored) in byte order of their names. A missing conf.d folder is fine; a
// missing main file is an error. An empty path reads nothing and yields the defaults.
//
// How files merge: each file is applied on top of the result of the ones before it.
//   - Tables ([limits], [storage], ...) merge key by key: a later file changes only the keys
//     it names, and for those it wins.
//   - [[listener]] tables append: conf.d/10-ws.toml can add a listener to those of ferry.toml.
//     Only when no file defines any listener do the two default listeners apply
//     (mqtt 127.0.0.1:1883 and mqtt-ws 127.0.0.1:8083 path /mqtt).
//
// Errors: every file is read to the end and all errors are returned, each with the file, line
// and column of the offending key or value (toml++ stops a file at its first syntax error).
// Unknown tables and keys are errors, not warnings: a misspelt key silently ignored is a
// setting the user believes is in force. If there is any error, no Config is returned; the
// caller (startup or SIGHUP reload) keeps what it had.
//
// Thread-safe (no shared state); does not throw (toml++'s exceptions are caught here).

#include "config/Config.h"

namespace ferry::config {

LoadResult loadConfigFile(const QString &path);

// Parses `text` as if it were the whole of a file named `fileNameForErrors` (no conf.d).
LoadResult loadConfigText(const QString &text, const QString &fileNameForErrors);

} // namespace ferry::config
