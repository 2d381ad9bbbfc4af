#pragma once
// Turns rule SQL into tokens. Whitespace and `-- comments` are skipped.
// Contract: tokenize() always ends with one End token, or stops at the first Error token.

#include "rules/Token.h"

#include <QList>

namespace ferry::rules {

class Lexer {
public:
    static QList<Token> tokenize(const QByteArray &sql);
};

} // namespace ferry::rules
