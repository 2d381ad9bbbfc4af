#pragma once
// `ferryctl rules ...`: check rule files and try a rule on one message, without a broker.
//
//   ferryctl rules check [DIR|FILE]      exit 0 and "OK: N rules in M files", or one
//                                        "file:line:column: message" per problem on stderr
//                                        and exit 1. Default DIR: /etc/ferry/rules.d
//   ferryctl rules test FILE --rule NAME --topic T --payload TEXT [--clientid C]
//                      [--username U] [--qos N] [--timestamp MS]
//                                        prints each output row and the actions it would fire;
//                                        exit 0, or 1 when the rule fails, is unknown, or its
//                                        FROM does not match the topic.
// Exit 2: usage errors.

#include <QStringList>
#include <QTextStream>

namespace ferry::ctl {

int runRulesCommand(const QStringList &args, QTextStream &out, QTextStream &err);

} // namespace ferry::ctl
