#include "rules/Codegen.h"

#include "rules/Builtins.h"

#include <QMap>
#include <QSet>

namespace ferry::rules {

namespace {

constexpr int kMaxTemps = 150; // Lua allows 200 locals per function

// The members of the payload JSON a rule reads: key -> sub-shape; `full` converts a subtree.
struct Shape {
    bool full = false;
    QMap<QByteArray, Shape> keys;
};

QByteArray luaString(const QByteArray &s)
{
    QByteArray out = "\"";
    for (char c : s) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            out += "\\" + QByteArray::number(u).rightJustified(3, '0');
        } else {
            out += c;
        }
    }
    return out + "\"";
}

QByteArray shapeLua(const Shape &s)
{
    if (s.full || s.keys.isEmpty())
        return "true";
    // [1] = how many keys: the decoder sizes the Lua table once (JSON keys are strings, so
    // the integer key never meets one).
    QByteArray out = "{[1]=" + QByteArray::number(s.keys.size()) + ",";
    for (auto it = s.keys.cbegin(); it != s.keys.cend(); ++it)
        out += "[" + luaString(it.key()) + "]=" + shapeLua(it.value()) + ",";
    return out + "}";
}

bool containsAggregate(const Expr &e)
{
    if (e.kind == Expr::Kind::Call && isAggregate(e.name))
        return true;
    for (const auto &k : e.kids)
        if (k && containsAggregate(*k))
            return true;
    for (const auto &seg : e.path)
        if (seg.index && containsAggregate(*seg.index))
            return true;
    return false;
}

bool isWindowBound(const Expr &e)
{
    return e.kind == Expr::Kind::Field && e.path.empty() &&
           (e.name == "window_start" || e.name == "window_end");
}

bool containsField(const Expr &e)
{
    if (e.kind == Expr::Kind::Field)
        return !isWindowBound(e); // known when the window closes

    if (e.kind == Expr::Kind::Call && (e.name == "now_timestamp" || e.name == "now_rfc3339" ||
                                       e.name == "random" || e.name == "uuid_v4"))
        return true; // evaluate per message, not at window close
    for (const auto &k : e.kids)
        if (k && containsField(*k))
            return true;
    return false;
}

bool referencesName(const Expr &e, const QSet<QByteArray> &names)
{
    if (e.kind == Expr::Kind::Field && names.contains(e.name))
        return true;
    for (const auto &k : e.kids)
        if (k && referencesName(*k, names))
            return true;
    for (const auto &seg : e.path)
        if (seg.index && referencesName(*seg.index, names))
            return true;
    return false;
}

class Generator {
public:
    explicit Generator(CompiledQuery *q) : q(q) {}

    SqlError error;

    bool run(const Statement &st)
    {
        q->from = QList<FromItem>(st.from.begin(), st.from.end());
        q->isForeach = st.isForeach;
        q->window = st.window;
        const bool windowed = st.window.kind != WindowSpec::Kind::None;
        if (!st.groupBy.empty() && !windowed)
            return fail(
                st.groupBy.front()->offset,
                "GROUP BY needs a window: add TUMBLING(d), HOPPING(d, h) or COUNTWINDOW(n)");
        if (windowed && st.isForeach)
            return fail(st.window.offset, "FOREACH cannot be windowed");
        for (const SelectItem &item : st.items) {
            if (item.star) {
                if (windowed)
                    return fail(item.offset, "SELECT * cannot be windowed: name the columns");
                q->hasStar = true;
            } else {
                q->columns.append(item.alias);
            }
        }
        if (windowed)
            return window(st);
        if (st.isForeach)
            return forEach(st);
        return select(st);
    }

    QByteArray header() const
    {
        QByteArray h;
        for (const QByteArray &name : used)
            h += "local " + name + " = " + name + "\n";
        if (!shape.keys.isEmpty() || shape.full)
            h += "local SHAPE = " + shapeLua(shape) + "\n";
        return h;
    }

private:
    CompiledQuery *q;
    QByteArray body; // the current block being written
    int temps = 0;
    QSet<QByteArray> used; // helpers and built-ins referenced (declared as upvalues)
    Shape shape;
    bool usesPayloadJson = false;
    QMap<QByteArray, QByteArray> scope; // SQL name -> Lua local (aliases, FOREACH item)
    bool allowAggregates = false;
    bool finishMode = false;
    bool inWindowFinish = false;
    QList<ExprPtr> aggArgs; // collect-side expressions for each aggregate (null for count(*))
    QList<ExprPtr> lastExprs;
    // payload.a.b read once: a path read at the function's top level (not inside a block
    // that may not run) is kept in a local that later reads of the same path use. GET never
    // raises and the decoded payload is never modified, so reading it earlier or once is the
    // same as reading it at each use.
    int nesting = 0;                      // > 0 while generating a conditional block
    QMap<QByteArray, QByteArray> payloadReads; // "a\0b" -> local

    bool fail(int offset, const QString &m)
    {
        if (!error.isError())
            error = {offset, m};
        return false;
    }
    QByteArray fn(const char *name)
    {
        used.insert(name);
        return name;
    }
    QByteArray temp()
    {
        if (++temps > kMaxTemps) {
            fail(0, "rule too complex (too many temporaries)");
            return "nil";
        }
        return "t" + QByteArray::number(temps);
    }
    QByteArray root(const QByteArray &name)
    {
        int i = q->roots.indexOf(name);
        if (i < 0) {
            q->roots.append(name);
            i = q->roots.size() - 1;
        }
        return "r" + QByteArray::number(i + 1);
    }
    QByteArray params() const
    {
        QByteArray p;
        for (int i = 0; i < q->roots.size(); ++i)
            p += (i ? ", r" : "r") + QByteArray::number(i + 1);
        return p;
    }
    QByteArray prologue()
    {
        if (!usesPayloadJson)
            return QByteArray();
        // A rule that reads payload only through its JSON members never gets the payload as a
        // Lua string: JDECP decodes the message's bytes where they are (CompiledQuery).
        const int raw = q->roots.indexOf("payload");
        if (raw < 0) {
            q->payloadDirect = true;
            return "  local pj = " + fn("JDECP") + "(SHAPE)\n";
        }
        return "  local pj = " + fn("JDEC") + "(r" + QByteArray::number(raw + 1) + ", SHAPE)\n";
    }

    // Generates e; statements it needs are appended to `body` first.
    QByteArray gen(const ExprPtr &e)
    {
        if (error.isError())
            return "nil";
        if (finishMode)
            return genFinish(e);
        return genNode(e);
    }

    // Generates e into its own block; returns the expression and leaves the statements in *pre.
    QByteArray genInto(const ExprPtr &e, QByteArray *pre)
    {
        QByteArray saved;
        saved.swap(body);
        ++nesting;
        const QByteArray x = gen(e);
        --nesting;
        pre->swap(body);
        body.swap(saved);
        return x;
    }

    QByteArray truth(const QByteArray &x) { return "(" + x + " == true)"; }

    QByteArray genNode(const ExprPtr &e)
    {
        switch (e->kind) {
        case Expr::Kind::Null:
            return "nil";
        case Expr::Kind::Bool:
            return e->boolValue ? "true" : "false";
        case Expr::Kind::Int:
            if (e->intValue == std::numeric_limits<qint64>::min())
                return "math.mininteger";
            return "(" + QByteArray::number(e->intValue) + ")";
        case Expr::Kind::Float: {
            QByteArray s = QByteArray::number(e->floatValue, 'g', 17);
            if (!s.contains('.') && !s.contains('e') && !s.contains('n') && !s.contains('i'))
                s += ".0";
            return "(" + s + ")";
        }
        case Expr::Kind::String:
            return luaString(e->name);
        case Expr::Kind::Field:
            return field(e);
        case Expr::Kind::Unary:
            if (e->op == "not")
                return "(not " + truth(gen(e->kids[0])) + ")";
            return fn("NEG") + "(" + gen(e->kids[0]) + ")";
        case Expr::Kind::Binary:
            return binary(e);
        case Expr::Kind::In:
            return in(e);
        case Expr::Kind::Case:
            return caseExpr(e);
        case Expr::Kind::Call:
            return call(e);
        }
        return "nil";
    }

    QByteArray field(const ExprPtr &e)
    {
        QByteArray x;
        size_t first = 0;
        auto local = scope.constFind(e->name);
        if (inWindowFinish && isWindowBound(*e)) {
            // window_start / window_end: the closing window's bounds (ms since the epoch).
            return e->name == "window_start" ? "ws" : "we";
        } else if (local != scope.constEnd()) {
            x = *local;
        } else if (e->name == "payload" && !e->path.empty() && !e->path[0].index) {
            // payload.a.b...: read the decoded JSON; record the members the rule needs.
            usesPayloadJson = true;
            Shape *s = &shape;
            for (const auto &seg : e->path) {
                if (seg.index) {
                    s->full = true;
                    break;
                }
                s = &s->keys[seg.key];
            }
            if (s != &shape && e->path.back().key.size() && !e->path.back().index)
                s->full = true;
            x = "pj";
        } else {
            x = root(e->name);
        }
        const bool payloadJson = x == "pj" && local == scope.constEnd();
        QByteArray path;
        bool constantPath = payloadJson;
        for (size_t i = first; i < e->path.size(); ++i) {
            const auto &seg = e->path[i];
            if (seg.index) {
                constantPath = false;
                x = fn("IDX") + "(" + x + ", " + gen(seg.index) + ")";
                continue;
            }
            x = fn("GET") + "(" + x + ", " + luaString(seg.key) + ")";
            if (!constantPath)
                continue;
            path += seg.key + '\0';
            const auto known = payloadReads.constFind(path);
            if (known != payloadReads.constEnd()) {
                x = *known;
            } else if (nesting == 0) {
                const QByteArray t = temp();
                body += "  local " + t + " = " + x + "\n";
                payloadReads.insert(path, t);
                x = t;
            }
        }
        return x;
    }

    QByteArray binary(const ExprPtr &e)
    {
        const QByteArray &op = e->op;
        if (op == "and" || op == "or") {
            const QByteArray l = truth(gen(e->kids[0]));
            QByteArray pre;
            const QByteArray r = truth(genInto(e->kids[1], &pre));
            if (pre.isEmpty())
                return "(" + l + (op == "and" ? " and " : " or ") + r + ")";
            // The right operand needs statements: run them only when it is evaluated.
            const QByteArray t = temp();
            body += "  local " + t + " = " + l + "\n";
            body += QByteArray("  if ") + (op == "and" ? "" : "not ") + t + " then\n" + pre + "  " +
                    t + " = " + r + "\n  end\n";
            return t;
        }
        const QByteArray l = gen(e->kids[0]);
        const QByteArray r = gen(e->kids[1]);
        static const QMap<QByteArray, const char *> helpers = {
            {"+", "ADD"},   {"-", "SUB"}, {"*", "MUL"},    {"/", "FDIV"}, {"div", "IDIV"},
            {"mod", "MOD"}, {"=", "EQ"},  {"!=", "NE"},    {"<", "LT"},   {"<=", "LE"},
            {">", "GT"},    {">=", "GE"}, {"=~", "TMATCH"}};
        return fn(helpers.value(op)) + "(" + l + ", " + r + ")";
    }

    QByteArray in(const ExprPtr &e)
    {
        const QByteArray t = temp();
        body += "  local " + t + " = " + gen(e->kids[0]) + "\n";
        QByteArray x = "(";
        for (size_t i = 1; i < e->kids.size(); ++i)
            x += (i > 1 ? " or " : "") + fn("EQ") + "(" + t + ", " + gen(e->kids[i]) + ")";
        x += ")";
        return e->negated ? "(not " + x + ")" : x;
    }

    QByteArray caseExpr(const ExprPtr &e)
    {
        const QByteArray t = temp();
        QByteArray subject;
        size_t i = 0;
        if (e->hasSubject) {
            subject = temp();
            body += "  local " + subject + " = " + gen(e->kids[0]) + "\n";
            i = 1;
        }
        body += "  local " + t + "\n";
        const size_t pairsEnd = e->kids.size() - (e->hasElse ? 1 : 0);
        // Nested ifs so that each condition's statements run only when reached.
        int depth = 0;
        for (; i + 1 < pairsEnd; i += 2) {
            QByteArray pre;
            QByteArray cond = genInto(e->kids[i], &pre);
            cond = e->hasSubject ? fn("EQ") + "(" + subject + ", " + cond + ")" : truth(cond);
            QByteArray valuePre;
            const QByteArray value = genInto(e->kids[i + 1], &valuePre);
            body += pre + "  if " + cond + " then\n" + valuePre + "  " + t + " = " + value +
                    "\n  else\n";
            ++depth;
        }
        if (e->hasElse) {
            QByteArray pre;
            const QByteArray value = genInto(e->kids.back(), &pre);
            body += pre + "  " + t + " = " + value + "\n";
        }
        for (int d = 0; d < depth; ++d)
            body += "  end\n";
        return t;
    }

    QByteArray call(const ExprPtr &e)
    {
        // first() and last() are also array functions outside windowed SELECT items.
        if (isAggregate(e->name) && e->name != "first" && e->name != "last") {
            fail(e->offset, allowAggregates
                                ? QString("aggregates cannot be nested")
                                : QString("aggregate %1() is only allowed in the SELECT list of a "
                                          "rule with GROUP BY ..., TUMBLING(d), HOPPING(d, h) or "
                                          "COUNTWINDOW(n)")
                                      .arg(QString::fromUtf8(e->name)));
            return "nil";
        }
        const BuiltinInfo *b = findBuiltin(e->name);
        if (!b) {
            fail(e->offset, QString("unknown function %1()").arg(QString::fromUtf8(e->name)));
            return "nil";
        }
        if (e->star) {
            fail(e->offset,
                 QString("%1(*) is not allowed; only count(*)").arg(QString::fromUtf8(e->name)));
            return "nil";
        }
        const int n = int(e->kids.size());
        if (n < b->minArgs || (b->maxArgs >= 0 && n > b->maxArgs)) {
            const QString expected = b->minArgs == b->maxArgs ? QString::number(b->minArgs)
                                     : b->maxArgs < 0
                                         ? QString("at least %1").arg(b->minArgs)
                                         : QString("%1 to %2").arg(b->minArgs).arg(b->maxArgs);
            fail(e->offset, QString("%1() takes %2 argument(s), got %3")
                                .arg(QString::fromUtf8(e->name), expected)
                                .arg(n));
            return "nil";
        }
        QByteArray x = fn(b->name) + "(";
        for (int i = 0; i < n; ++i)
            x += (i ? ", " : "") + gen(e->kids[size_t(i)]);
        return x + ")";
    }

    // ---- statements -----------------------------------------------------------------------

    bool select(const Statement &st)
    {
        QSet<QByteArray> aliases;
        for (const SelectItem &item : st.items)
            if (!item.star && !item.alias.contains('.'))
                aliases.insert(item.alias);
        const bool whereFirst = st.where && !referencesName(*st.where, aliases);
        QByteArray fnBody;
        auto where = [&] {
            if (!st.where)
                return;
            const QByteArray w = gen(st.where);
            fnBody += body + "  if " + w + " ~= true then return false end\n";
            body.clear();
        };
        if (whereFirst)
            where();
        QByteArray ret = "  return true";
        int col = 0;
        for (const SelectItem &item : st.items) {
            if (item.star)
                continue;
            const QByteArray local = "c" + QByteArray::number(++col);
            const QByteArray x = gen(item.expr);
            fnBody += body + "  local " + local + " = " + x + "\n";
            body.clear();
            if (!item.alias.contains('.'))
                scope.insert(item.alias, local);
            ret += ", " + local;
        }
        if (!whereFirst)
            where();
        if (error.isError())
            return false;
        const QByteArray pro = prologue(); // first: it may name a helper the header declares
        q->lua = header() + "return function(" + params() + ")\n" + pro + fnBody + ret +
                 "\nend\n";
        return true;
    }

    bool forEach(const Statement &st)
    {
        QByteArray fnBody;
        if (st.where) {
            const QByteArray w = gen(st.where);
            fnBody += body + "  if " + w + " ~= true then return false end\n";
            body.clear();
        }
        const QByteArray list = gen(st.foreachExpr);
        fnBody += body + "  local arr = " + fn("ISARR") + "(" + list + ")\n";
        body.clear();
        fnBody += "  local rows, n = {}, 0\n  if arr then\n  for i = 1, " + fn("RAWLEN") +
                  "(arr) do\n  local it = " + fn("ELEM") + "(arr, i)\n";
        q->foreachAlias = st.foreachAlias;
        scope.insert(st.foreachAlias, "it");
        ++nesting; // the DO items and INCASE run inside the loop
        QByteArray row = "{";
        if (st.items.empty()) {
            row += "it";
        } else {
            q->foreachHasDo = true;
            int col = 0;
            QByteArray items;
            for (const SelectItem &item : st.items) {
                if (item.star)
                    return fail(item.offset, "DO cannot use *");
                const QByteArray local = "c" + QByteArray::number(++col);
                const QByteArray x = gen(item.expr);
                items += body + "  local " + local + " = " + x + "\n";
                body.clear();
                if (!item.alias.contains('.'))
                    scope.insert(item.alias, local);
                row += (col > 1 ? ", " : "") + local;
            }
            body = items;
        }
        row += "}";
        QByteArray inner = body;
        body.clear();
        if (st.incase) {
            const QByteArray c = gen(st.incase);
            fnBody += body + "  if " + c + " == true then\n";
            body.clear();
            fnBody += inner + "  n = n + 1\n  rows[n] = " + row + "\n  end\n";
        } else {
            fnBody += inner + "  n = n + 1\n  rows[n] = " + row + "\n";
        }
        --nesting;
        fnBody += "  end\n  end\n  return true, rows\n";
        if (error.isError())
            return false;
        const QByteArray pro = prologue(); // first: it may name a helper the header declares
        q->lua = header() + "return function(" + params() + ")\n" + pro + fnBody + "end\n";
        return true;
    }

    // finish(A, L): aggregates become A[k], per-message subexpressions become L[j].
    QByteArray genFinish(const ExprPtr &e)
    {
        if (e->kind == Expr::Kind::Call && isAggregate(e->name)) {
            if (!e->star && e->kids.size() != 1) {
                fail(e->offset, QString("%1() takes 1 argument").arg(QString::fromUtf8(e->name)));
                return "nil";
            }
            if (e->star && e->name != "count") {
                fail(e->offset, "only count(*) accepts *");
                return "nil";
            }
            for (const auto &k : e->kids) {
                if (containsAggregate(*k)) {
                    fail(k->offset, "aggregates cannot be nested");
                    return "nil";
                }
            }
            q->aggregates.append({e->name, e->star});
            aggArgs.append(e->star ? nullptr : e->kids[0]);
            return "A[" + QByteArray::number(q->aggregates.size()) + "]";
        }
        if (!containsAggregate(*e)) {
            if (!containsField(*e)) {
                finishMode = false;
                const QByteArray x = genNode(e);
                finishMode = true;
                return x;
            }
            lastExprs.append(e);
            return "L[" + QByteArray::number(lastExprs.size()) + "]";
        }
        return genNode(e);
    }

    bool window(const Statement &st)
    {
        // finish first: it discovers the aggregate and last-value slots.
        finishMode = true;
        inWindowFinish = true;
        allowAggregates = true;
        QByteArray finishBody, ret = "  return ";
        int col = 0;
        for (const SelectItem &item : st.items) {
            const QByteArray local = "c" + QByteArray::number(++col);
            const QByteArray x = gen(item.expr);
            finishBody += body + "  local " + local + " = " + x + "\n";
            body.clear();
            ret += (col > 1 ? ", " : "") + local;
        }
        if (col == 0)
            ret += "nil";
        finishMode = false;
        inWindowFinish = false;
        allowAggregates = false;
        if (error.isError())
            return false;
        // collect(...): WHERE, then group values, aggregate arguments and last values.
        QByteArray collectBody;
        if (st.where) {
            const QByteArray w = gen(st.where);
            collectBody += body + "  if " + w + " ~= true then return false end\n";
            body.clear();
        }
        QByteArray cret = "  return true";
        int v = 0;
        auto value = [&](const ExprPtr &e) {
            const QByteArray local = "v" + QByteArray::number(++v);
            const QByteArray x = e ? gen(e) : QByteArray("true");
            collectBody += body + "  local " + local + " = " + x + "\n";
            body.clear();
            cret += ", " + local;
        };
        for (const ExprPtr &g : st.groupBy)
            value(g);
        for (const ExprPtr &a : aggArgs)
            value(a);
        for (const ExprPtr &l : lastExprs)
            value(l);
        if (error.isError())
            return false;
        q->groupCount = int(st.groupBy.size());
        q->lastCount = int(lastExprs.size());
        // The finish function may reference helpers too: one header serves both.
        const QByteArray pro = prologue(); // first: it may name a helper the header declares
        q->lua = header() + "local collect = function(" + params() + ")\n" + pro +
                 collectBody + cret + "\nend\n" + "local finish = function(A, L, ws, we)\n" +
                 finishBody + ret + "\nend\nreturn collect, finish\n";
        return true;
    }
};

} // namespace

bool Codegen::compile(const Statement &st, CompiledQuery *out, SqlError *error)
{
    *out = CompiledQuery();
    Generator g(out);
    if (!g.run(st)) {
        *error = g.error.isError() ? g.error : SqlError{0, "cannot compile"};
        return false;
    }
    if (g.error.isError()) {
        *error = g.error;
        return false;
    }
    return true;
}

} // namespace ferry::rules
