#pragma once
// What Codegen produces for one statement: the Lua source and the facts the engine needs to
// call it (which input roots to pass, in which order) and to shape its results into rows.

#include "rules/Ast.h"

#include <QByteArray>
#include <QList>

namespace ferry::rules {

struct AggregateSlot {
    QByteArray function; // avg min max sum count first last
    bool star = false;   // count(*)
};

struct CompiledQuery {
    QByteArray lua; // returns one function (select/foreach) or two (collect, finish) for windows
    QList<QByteArray> roots;   // input fields passed as arguments, in order
    // The rule reads payload only as JSON (payload.a...): the engine lends the input's payload
    // bytes to the runtime (LuaRuntime::setPayload) and JDECP decodes them, instead of
    // passing payload as a Lua string.
    bool payloadDirect = false;
    QList<QByteArray> columns; // output names (dotted = nested), one per non-star item
    bool hasStar = false;
    bool isForeach = false;
    bool foreachHasDo = false;
    QByteArray foreachAlias;
    QList<FromItem> from;

    // Windowed aggregation (window.kind != None): collect(...) returns
    // passed, group values (groupCount), aggregate arguments (one per aggregate), last values
    // (lastCount); finish(A, L) returns one value per column.
    WindowSpec window;
    int groupCount = 0;
    QList<AggregateSlot> aggregates;
    int lastCount = 0;
};

} // namespace ferry::rules
