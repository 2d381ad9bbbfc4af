#pragma once
// A compile error in rule SQL: a byte offset into the SQL text and what was expected.
// RuleFile maps the offset to file:line:column.

#include <QString>

namespace ferry::rules {

struct SqlError {
    int offset = -1; // byte offset into the SQL text; -1 = no error
    QString message;

    bool isError() const { return offset >= 0; }
};

} // namespace ferry::rules
