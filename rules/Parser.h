#pragma once
// Recursive-descent parser for the rule SQL dialect (EMQX rule SQL plus windowed GROUP BY).
//
// statement := SELECT items FROM sources [WHERE expr] [GROUP BY groups]
//            | FOREACH expr [AS name] [DO items] [INCASE expr] FROM sources [WHERE expr]
// items     := ('*' | expr [AS alias]) (',' ...)*
// sources   := string (',' string)*           -- MQTT filters or "$events/..."
// groups    := (expr | TUMBLING(d) | HOPPING(d, d) | COUNTWINDOW(n)) (',' ...)*
// Precedence, loosest first: OR; AND; NOT; comparison (= != <> < <= > >= =~ [NOT] IN);
// + -; * / DIV MOD; unary -; primary (literal, field path, call, CASE, parentheses).

#include "rules/Ast.h"
#include "rules/SqlError.h"

namespace ferry::rules {

class Parser {
public:
    // Returns false and fills *error on the first syntax error.
    static bool parse(const QByteArray &sql, Statement *out, SqlError *error);
};

} // namespace ferry::rules
