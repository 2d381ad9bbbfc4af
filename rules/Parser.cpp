#include "rules/Parser.h"

#include "rules/Lexer.h"

namespace ferry::rules {

namespace {

const char *const kReserved[] = {"select", "from",  "where", "as",   "and",    "or",
                                 "not",    "in",    "case",  "when", "then",   "else",
                                 "end",    "group", "by",    "do",   "incase", "foreach"};

bool isReserved(const QByteArray &word)
{
    for (const char *r : kReserved)
        if (word.compare(r, Qt::CaseInsensitive) == 0)
            return true;
    return false;
}

class ParserImpl {
public:
    ParserImpl(const QByteArray &sql, QList<Token> tokens) : sql(sql), toks(std::move(tokens))
    {
        if (!toks.isEmpty() && toks.last().kind == TokenKind::Error)
            lexError = toks.last();
    }

    bool statement(Statement *st)
    {
        if (peek().kind == TokenKind::Error)
            return fail(peek().offset, QString::fromUtf8(peek().text));
        if (accept("select")) {
            if (!items(&st->items))
                return false;
        } else if (accept("foreach")) {
            st->isForeach = true;
            if (!(st->foreachExpr = expression()))
                return false;
            st->foreachAlias = "item";
            if (accept("as") && !identifier(&st->foreachAlias, "a name after AS"))
                return false;
            if (accept("do") && !items(&st->items))
                return false;
            if (accept("incase") && !(st->incase = expression()))
                return false;
        } else {
            return fail(peek().offset, "expected SELECT or FOREACH");
        }
        if (!expectKeyword("from"))
            return false;
        do {
            const Token &t = peek();
            if (t.kind != TokenKind::String)
                return fail(t.offset, "expected a quoted topic filter after FROM");
            st->from.push_back({t.text, t.offset});
            ++pos;
        } while (acceptPunct(","));
        if (accept("where") && !(st->where = expression()))
            return false;
        if (accept("group")) {
            if (!expectKeyword("by"))
                return false;
            do {
                if (!groupItem(st))
                    return false;
            } while (acceptPunct(","));
        }
        if (peek().kind == TokenKind::Error)
            return fail(peek().offset, QString::fromUtf8(peek().text));
        if (peek().kind != TokenKind::End)
            return fail(peek().offset, "expected end of statement, found " + describe(peek()));
        return true;
    }

    SqlError error;

private:
    const QByteArray &sql;
    QList<Token> toks;
    int pos = 0;
    Token lexError;

    const Token &peek(int ahead = 0) const
    {
        const int i = std::min<int>(pos + ahead, toks.size() - 1);
        return toks[i];
    }
    bool accept(const char *kw)
    {
        if (!peek().isKeyword(kw))
            return false;
        ++pos;
        return true;
    }
    bool acceptPunct(const char *p)
    {
        if (!peek().isPunct(p))
            return false;
        ++pos;
        return true;
    }
    static QString describe(const Token &t)
    {
        switch (t.kind) {
        case TokenKind::End:
            return "end of statement";
        case TokenKind::String:
            return "string '" + QString::fromUtf8(t.text) + "'";
        default:
            return "'" + QString::fromUtf8(t.text) + "'";
        }
    }
    bool fail(int offset, const QString &message)
    {
        // A lexical error explains a failure at or after it better than "expected X".
        if (lexError.kind == TokenKind::Error && lexError.offset <= offset) {
            offset = lexError.offset;
            return fail2(offset, QString::fromUtf8(lexError.text));
        }
        return fail2(offset, message);
    }
    bool fail2(int offset, const QString &message)
    {
        if (!error.isError())
            error = {offset, message};
        return false;
    }
    std::nullptr_t failExpr(int offset, const QString &message)
    {
        fail(offset, message);
        return nullptr;
    }
    bool expectKeyword(const char *kw)
    {
        if (accept(kw))
            return true;
        return fail(peek().offset,
                    QString("expected %1, found %2").arg(QString(kw).toUpper(), describe(peek())));
    }
    bool expectPunct(const char *p)
    {
        if (acceptPunct(p))
            return true;
        return fail(peek().offset, QString("expected '%1', found %2").arg(p, describe(peek())));
    }
    bool identifier(QByteArray *out, const char *what)
    {
        const Token &t = peek();
        if (t.kind == TokenKind::Ident && !isReserved(t.text)) {
            *out = t.text;
            ++pos;
            return true;
        }
        if (t.kind == TokenKind::String) { // AS 'quoted alias'
            *out = t.text;
            ++pos;
            return true;
        }
        return fail(t.offset, QString("expected %1, found %2").arg(what, describe(t)));
    }

    bool items(std::vector<SelectItem> *out)
    {
        do {
            SelectItem item;
            item.offset = peek().offset;
            if (acceptPunct("*")) {
                item.star = true;
            } else {
                if (!(item.expr = expression()))
                    return false;
                if (accept("as")) {
                    if (!identifier(&item.alias, "a name after AS"))
                        return false;
                    // AS a.b nests the value in the output.
                    while (acceptPunct(".")) {
                        QByteArray part;
                        if (!identifier(&part, "a name after '.'"))
                            return false;
                        item.alias += "." + part;
                    }
                } else {
                    item.alias = defaultAlias(item);
                }
            }
            out->push_back(std::move(item));
        } while (acceptPunct(","));
        return true;
    }

    // EMQX names an un-aliased column after its text: `payload.temp` nests as payload.temp.
    QByteArray defaultAlias(const SelectItem &item) const
    {
        const Expr &e = *item.expr;
        if (e.kind == Expr::Kind::Field) {
            QByteArray name = e.name;
            for (const auto &seg : e.path) {
                if (seg.index)
                    return sql.mid(item.offset, peek().offset - item.offset).trimmed();
                name += "." + seg.key;
            }
            return name;
        }
        return sql.mid(item.offset, peek().offset - item.offset).trimmed();
    }

    bool groupItem(Statement *st)
    {
        const Token &t = peek();
        const bool isWindow =
            t.kind == TokenKind::Ident && peek(1).isPunct("(") &&
            (t.isKeyword("tumbling") || t.isKeyword("hopping") || t.isKeyword("countwindow"));
        if (!isWindow) {
            ExprPtr e = expression();
            if (!e)
                return false;
            st->groupBy.push_back(e);
            return true;
        }
        if (st->window.kind != WindowSpec::Kind::None)
            return fail(t.offset, "only one window is allowed in GROUP BY");
        WindowSpec &w = st->window;
        w.offset = t.offset;
        pos += 2;
        if (t.isKeyword("countwindow")) {
            w.kind = WindowSpec::Kind::Count;
            const Token &n = peek();
            if (n.kind != TokenKind::Int || n.intValue <= 0)
                return fail(n.offset, "expected a positive message count");
            w.count = n.intValue;
            ++pos;
        } else {
            w.kind =
                t.isKeyword("tumbling") ? WindowSpec::Kind::Tumbling : WindowSpec::Kind::Hopping;
            if (!duration(&w.sizeMs))
                return false;
            if (w.kind == WindowSpec::Kind::Hopping) {
                if (!expectPunct(",") || !duration(&w.hopMs))
                    return false;
                if (w.hopMs > w.sizeMs)
                    return fail(t.offset, "HOPPING hop must not exceed the window size");
            }
        }
        return expectPunct(")");
    }

    bool duration(qint64 *ms)
    {
        const Token &d = peek();
        if (d.kind != TokenKind::Duration || d.intValue <= 0)
            return fail(d.offset, "expected a duration such as 10s, 500ms, 5m or 1h");
        *ms = d.intValue;
        ++pos;
        return true;
    }

    ExprPtr node(Expr::Kind kind, int offset)
    {
        auto e = std::make_shared<Expr>();
        e->kind = kind;
        e->offset = offset;
        return e;
    }
    ExprPtr binary(const QByteArray &op, ExprPtr l, ExprPtr r, int offset)
    {
        ExprPtr e = node(Expr::Kind::Binary, offset);
        e->op = op;
        e->kids = {std::move(l), std::move(r)};
        return e;
    }

    ExprPtr expression() { return orExpr(); }

    ExprPtr orExpr()
    {
        ExprPtr l = andExpr();
        while (l && peek().isKeyword("or")) {
            const int at = peek().offset;
            ++pos;
            ExprPtr r = andExpr();
            if (!r)
                return nullptr;
            l = binary("or", l, r, at);
        }
        return l;
    }
    ExprPtr andExpr()
    {
        ExprPtr l = notExpr();
        while (l && peek().isKeyword("and")) {
            const int at = peek().offset;
            ++pos;
            ExprPtr r = notExpr();
            if (!r)
                return nullptr;
            l = binary("and", l, r, at);
        }
        return l;
    }
    ExprPtr notExpr()
    {
        if (peek().isKeyword("not")) {
            ExprPtr e = node(Expr::Kind::Unary, peek().offset);
            ++pos;
            e->op = "not";
            ExprPtr k = notExpr();
            if (!k)
                return nullptr;
            e->kids = {k};
            return e;
        }
        return comparison();
    }
    ExprPtr comparison()
    {
        ExprPtr l = additive();
        if (!l)
            return nullptr;
        const Token &t = peek();
        static const char *const ops[] = {"=", "!=", "<>", "<=", ">=", "<", ">", "=~"};
        for (const char *op : ops) {
            if (t.isPunct(op)) {
                ++pos;
                ExprPtr r = additive();
                if (!r)
                    return nullptr;
                return binary(QByteArray(op) == "<>" ? "!=" : op, l, r, t.offset);
            }
        }
        bool negated = false;
        if (t.isKeyword("not") && peek(1).isKeyword("in")) {
            negated = true;
            ++pos;
        }
        if (peek().isKeyword("in")) {
            ExprPtr e = node(Expr::Kind::In, peek().offset);
            ++pos;
            e->negated = negated;
            e->kids.push_back(l);
            if (!expectPunct("("))
                return nullptr;
            do {
                ExprPtr v = expression();
                if (!v)
                    return nullptr;
                e->kids.push_back(v);
            } while (acceptPunct(","));
            if (!expectPunct(")"))
                return nullptr;
            return e;
        }
        return l;
    }
    ExprPtr additive()
    {
        ExprPtr l = multiplicative();
        while (l && (peek().isPunct("+") || peek().isPunct("-"))) {
            const Token t = peek();
            ++pos;
            ExprPtr r = multiplicative();
            if (!r)
                return nullptr;
            l = binary(t.text, l, r, t.offset);
        }
        return l;
    }
    ExprPtr multiplicative()
    {
        ExprPtr l = unary();
        while (l && (peek().isPunct("*") || peek().isPunct("/") || peek().isKeyword("div") ||
                     peek().isKeyword("mod"))) {
            const Token t = peek();
            ++pos;
            ExprPtr r = unary();
            if (!r)
                return nullptr;
            l = binary(t.text.toLower(), l, r, t.offset);
        }
        return l;
    }
    ExprPtr unary()
    {
        if (peek().isPunct("-")) {
            const int at = peek().offset;
            ++pos;
            // Fold -literal so that -9223372036854775808-style bounds stay literals.
            const Token &n = peek();
            if (n.kind == TokenKind::Int || n.kind == TokenKind::Float) {
                ExprPtr e = primary();
                if (!e)
                    return nullptr;
                e->offset = at;
                e->intValue = -e->intValue;
                e->floatValue = -e->floatValue;
                return e;
            }
            ExprPtr e = node(Expr::Kind::Unary, at);
            e->op = "-";
            ExprPtr k = unary();
            if (!k)
                return nullptr;
            e->kids = {k};
            return e;
        }
        return primary();
    }

    ExprPtr primary()
    {
        const Token t = peek();
        switch (t.kind) {
        case TokenKind::Int: {
            ++pos;
            ExprPtr e = node(Expr::Kind::Int, t.offset);
            e->intValue = t.intValue;
            return e;
        }
        case TokenKind::Float: {
            ++pos;
            ExprPtr e = node(Expr::Kind::Float, t.offset);
            e->floatValue = t.floatValue;
            return e;
        }
        case TokenKind::String: {
            ++pos;
            ExprPtr e = node(Expr::Kind::String, t.offset);
            e->name = t.text;
            return e;
        }
        case TokenKind::Error:
            return failExpr(t.offset, QString::fromUtf8(t.text));
        case TokenKind::Duration:
            return failExpr(t.offset, "a duration is only allowed in TUMBLING or HOPPING");
        case TokenKind::End:
            return failExpr(t.offset, "expected an expression, found end of statement");
        case TokenKind::Punct:
            if (t.isPunct("(")) {
                ++pos;
                ExprPtr e = expression();
                if (!e || !expectPunct(")"))
                    return nullptr;
                return e;
            }
            return failExpr(t.offset, "expected an expression, found " + describe(t));
        case TokenKind::Ident:
            break;
        }
        if (t.isKeyword("true") || t.isKeyword("false")) {
            ++pos;
            ExprPtr e = node(Expr::Kind::Bool, t.offset);
            e->boolValue = t.isKeyword("true");
            return e;
        }
        if (t.isKeyword("null")) {
            ++pos;
            return node(Expr::Kind::Null, t.offset);
        }
        if (t.isKeyword("case"))
            return caseExpr();
        if (isReserved(t.text))
            return failExpr(t.offset, "expected an expression, found " + describe(t));
        ++pos;
        if (acceptPunct("("))
            return call(t);
        ExprPtr e = node(Expr::Kind::Field, t.offset);
        e->name = t.text;
        while (true) {
            if (acceptPunct(".")) {
                const Token &k = peek();
                if (k.kind == TokenKind::Ident || k.kind == TokenKind::String) {
                    e->path.push_back({k.text, nullptr});
                    ++pos;
                } else if (k.kind == TokenKind::Int) { // payload.0 is not a thing: say so
                    return failExpr(k.offset, "expected a field name after '.' (use [n] for "
                                              "array elements)");
                } else {
                    return failExpr(k.offset,
                                    "expected a field name after '.', found " + describe(k));
                }
            } else if (acceptPunct("[")) {
                ExprPtr idx = expression();
                if (!idx || !expectPunct("]"))
                    return nullptr;
                e->path.push_back({QByteArray(), idx});
            } else {
                return e;
            }
        }
    }

    ExprPtr call(const Token &name)
    {
        ExprPtr e = node(Expr::Kind::Call, name.offset);
        e->name = name.text.toLower();
        if (acceptPunct(")"))
            return e;
        if (peek().isPunct("*") && peek(1).isPunct(")")) { // count(*)
            pos += 2;
            e->star = true;
            return e;
        }
        do {
            ExprPtr a = expression();
            if (!a)
                return nullptr;
            e->kids.push_back(a);
        } while (acceptPunct(","));
        if (!expectPunct(")"))
            return nullptr;
        return e;
    }

    ExprPtr caseExpr()
    {
        ExprPtr e = node(Expr::Kind::Case, peek().offset);
        ++pos;
        if (!peek().isKeyword("when")) {
            ExprPtr subject = expression();
            if (!subject)
                return nullptr;
            e->hasSubject = true;
            e->kids.push_back(subject);
        }
        if (!peek().isKeyword("when"))
            return failExpr(peek().offset, "expected WHEN, found " + describe(peek()));
        while (accept("when")) {
            ExprPtr cond = expression();
            if (!cond || !expectKeyword("then"))
                return nullptr;
            ExprPtr value = expression();
            if (!value)
                return nullptr;
            e->kids.push_back(cond);
            e->kids.push_back(value);
        }
        if (accept("else")) {
            ExprPtr value = expression();
            if (!value)
                return nullptr;
            e->kids.push_back(value);
            e->hasElse = true;
        }
        if (!expectKeyword("end"))
            return nullptr;
        return e;
    }
};

} // namespace

bool Parser::parse(const QByteArray &sql, Statement *out, SqlError *error)
{
    ParserImpl p(sql, Lexer::tokenize(sql));
    *out = Statement();
    if (p.statement(out))
        return true;
    *error = p.error;
    return false;
}

} // namespace ferry::rules
