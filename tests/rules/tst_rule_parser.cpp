// Parser: every construct, operator precedence, and error positions, both within the SQL and
// mapped to file:line:column through the TOML string that holds it.

#include "rules/Parser.h"
#include "rules/RuleEngine.h"

#include <QtTest>

using namespace ferry::rules;

namespace {

// The AST as an S-expression, written here independently of the code generator.
QByteArray sexp(const ExprPtr &e)
{
    switch (e->kind) {
    case Expr::Kind::Null:
        return "null";
    case Expr::Kind::Bool:
        return e->boolValue ? "true" : "false";
    case Expr::Kind::Int:
        return QByteArray::number(e->intValue);
    case Expr::Kind::Float:
        return QByteArray::number(e->floatValue) + "f";
    case Expr::Kind::String:
        return "'" + e->name + "'";
    case Expr::Kind::Field: {
        QByteArray s = e->name;
        for (const auto &seg : e->path)
            s += seg.index ? "[" + sexp(seg.index) + "]" : "." + seg.key;
        return s;
    }
    case Expr::Kind::Unary:
        return "(" + e->op + " " + sexp(e->kids[0]) + ")";
    case Expr::Kind::Binary:
        return "(" + e->op + " " + sexp(e->kids[0]) + " " + sexp(e->kids[1]) + ")";
    case Expr::Kind::In: {
        QByteArray s = e->negated ? "(notin" : "(in";
        for (const auto &k : e->kids)
            s += " " + sexp(k);
        return s + ")";
    }
    case Expr::Kind::Case: {
        QByteArray s = e->hasSubject ? "(case-of" : "(case";
        for (const auto &k : e->kids)
            s += " " + sexp(k);
        return s + (e->hasElse ? " :else)" : ")");
    }
    case Expr::Kind::Call: {
        QByteArray s = "(" + e->name + (e->star ? " *" : "");
        for (const auto &k : e->kids)
            s += " " + sexp(k);
        return s + ")";
    }
    }
    return "?";
}

QByteArray describe(const Statement &st)
{
    QByteArray s = st.isForeach
                       ? "FOREACH " + sexp(st.foreachExpr) + " AS " + st.foreachAlias + " DO"
                       : QByteArray("SELECT");
    for (const auto &i : st.items)
        s += i.star ? QByteArray(" *") : " " + sexp(i.expr) + "=>" + i.alias;
    if (st.incase)
        s += " INCASE " + sexp(st.incase);
    s += " FROM";
    for (const auto &f : st.from)
        s += " \"" + f.filter + "\"";
    if (st.where)
        s += " WHERE " + sexp(st.where);
    if (!st.groupBy.empty() || st.window.kind != WindowSpec::Kind::None) {
        s += " GROUP";
        for (const auto &g : st.groupBy)
            s += " " + sexp(g);
        switch (st.window.kind) {
        case WindowSpec::Kind::Tumbling:
            s += " tumbling:" + QByteArray::number(st.window.sizeMs);
            break;
        case WindowSpec::Kind::Hopping:
            s += " hopping:" + QByteArray::number(st.window.sizeMs) + "/" +
                 QByteArray::number(st.window.hopMs);
            break;
        case WindowSpec::Kind::Count:
            s += " count:" + QByteArray::number(st.window.count);
            break;
        case WindowSpec::Kind::None:
            break;
        }
    }
    return s;
}

} // namespace

class TestRuleParser : public QObject {
    Q_OBJECT
private slots:
    void constructs_data();
    void constructs();
    void errors_data();
    void errors();
    void filePositions_data();
    void filePositions();
};

void TestRuleParser::constructs_data()
{
    QTest::addColumn<QByteArray>("sql");
    QTest::addColumn<QByteArray>("ast");
    auto row = [](const char *name, const char *sql, const char *ast) {
        QTest::newRow(name) << QByteArray(sql) << QByteArray(ast);
    };
    row("select fields", "SELECT payload.a.b, clientid AS c FROM \"t/#\"",
        "SELECT payload.a.b=>payload.a.b clientid=>c FROM \"t/#\"");
    row("star and several sources",
        "select *, 1 as one from \"a/+\", 'b', \"$events/client_connected\"",
        "SELECT * 1=>one FROM \"a/+\" \"b\" \"$events/client_connected\"");
    row("literals",
        "SELECT 1 AS i, -2 AS n, 2.5 AS f, 1e3 AS e, 'it''s' AS s, \"dq\" AS d, true AS t, FALSE "
        "AS f2, null AS z FROM \"t\"",
        "SELECT 1=>i -2=>n 2.5f=>f 1000f=>e 'it's'=>s 'dq'=>d true=>t false=>f2 null=>z FROM "
        "\"t\"");
    row("index and quoted key",
        "SELECT payload.arr[1].x, pub_props.'User-Property'.k AS k FROM \"t\"",
        "SELECT payload.arr[1].x=>payload.arr[1].x pub_props.User-Property.k=>k FROM \"t\"");
    row("precedence arithmetic", "SELECT 1 + 2 * 3 - 4 / 5 mod 6 div 7 AS x FROM \"t\"",
        "SELECT (- (+ 1 (* 2 3)) (div (mod (/ 4 5) 6) 7))=>x FROM \"t\"");
    row("precedence logic", "SELECT 1 FROM \"t\" WHERE a = 1 OR b > 2 AND NOT c <= 3",
        "SELECT 1=>1 FROM \"t\" WHERE (or (= a 1) (and (> b 2) (not (<= c 3))))");
    row("comparison ops",
        "SELECT 1 FROM \"t\" WHERE a != 1 AND b <> 2 AND c >= 3 AND d < 4 AND topic =~ 'x/#'",
        "SELECT 1=>1 FROM \"t\" WHERE (and (and (and (and (!= a 1) (!= b 2)) (>= c 3)) (< d 4)) "
        "(=~ topic 'x/#'))");
    row("unary minus", "SELECT -a * -(b + 1) AS x FROM \"t\"",
        "SELECT (* (- a) (- (+ b 1)))=>x FROM \"t\"");
    row("in and not in", "SELECT 1 FROM \"t\" WHERE a IN (1, 'x') AND b NOT IN (2)",
        "SELECT 1=>1 FROM \"t\" WHERE (and (in a 1 'x') (notin b 2))");
    row("case forms",
        "SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END AS c, CASE b WHEN 1 THEN 2 END AS d FROM "
        "\"t\"",
        "SELECT (case (> a 1) 'x' 'y' :else)=>c (case-of b 1 2)=>d FROM \"t\"");
    row("calls",
        "SELECT COUNT(*) AS n, upper(lower(x)), pi() AS p FROM \"t\" GROUP BY TUMBLING(1s)",
        "SELECT (count *)=>n (upper (lower x))=>upper(lower(x)) (pi)=>p FROM \"t\" GROUP "
        "tumbling:1000");
    row("foreach full",
        "FOREACH payload.list AS s DO s.a AS a, s.b INCASE s.a > 1 FROM \"t\" WHERE qos = 1",
        "FOREACH payload.list AS s DO s.a=>a s.b=>s.b INCASE (> s.a 1) FROM \"t\" WHERE (= qos 1)");
    row("foreach bare", "FOREACH payload.list FROM \"t\"",
        "FOREACH payload.list AS item DO FROM \"t\"");
    row("hopping window", "SELECT avg(x) AS a FROM \"t\" GROUP BY clientid, HOPPING(1m, 500ms)",
        "SELECT (avg x)=>a FROM \"t\" GROUP clientid hopping:60000/500");
    row("count window", "SELECT avg(x) AS a FROM \"t\" GROUP BY COUNTWINDOW(5), topic",
        "SELECT (avg x)=>a FROM \"t\" GROUP topic count:5");
    row("comment", "SELECT 1 AS x -- trailing words\nFROM \"t\"", "SELECT 1=>x FROM \"t\"");
}

void TestRuleParser::constructs()
{
    QFETCH(QByteArray, sql);
    QFETCH(QByteArray, ast);
    Statement st;
    SqlError err;
    QVERIFY2(Parser::parse(sql, &st, &err), qPrintable(err.message));
    QCOMPARE(describe(st), ast);
}

void TestRuleParser::errors_data()
{
    QTest::addColumn<QByteArray>("sql");
    QTest::addColumn<int>("offset");
    QTest::addColumn<QString>("message");
    auto row = [](const char *name, const char *sql, int offset, const char *message) {
        QTest::newRow(name) << QByteArray(sql) << offset << QString(message);
    };
    row("empty", "", 0, "expected SELECT or FOREACH");
    row("no from", "SELECT a", 8, "expected FROM, found end of statement");
    row("unquoted from", "SELECT a FROM t", 14, "expected a quoted topic filter after FROM");
    row("missing paren", "SELECT f(a FROM \"t\"", 11, "expected ')', found 'FROM'");
    row("trailing junk", "SELECT a FROM \"t\" LIMIT 1", 18,
        "expected end of statement, found 'LIMIT'");
    row("unterminated string", "SELECT 'abc FROM \"t\"", 7, "unterminated string");
    row("bad character", "SELECT a ; FROM \"t\"", 9, "unexpected character");
    row("case without end", "SELECT CASE WHEN a THEN 1 FROM \"t\"", 26,
        "expected END, found 'FROM'");
    row("as keyword", "SELECT a AS from FROM \"t\"", 12, "expected a name after AS, found 'from'");
    row("bad duration", "SELECT 1 FROM \"t\" GROUP BY TUMBLING(10x)", 38,
        "unknown duration unit (expected ms, s, m or h)");
    row("window without duration", "SELECT 1 FROM \"t\" GROUP BY TUMBLING(10)", 36,
        "expected a duration such as 10s, 500ms, 5m or 1h");
    row("hop larger than size", "SELECT 1 FROM \"t\" GROUP BY HOPPING(1s, 2s)", 27,
        "HOPPING hop must not exceed the window size");
    row("dangling operator", "SELECT 1 + FROM \"t\"", 11, "expected an expression, found 'FROM'");
    row("numeric path", "SELECT payload.0 FROM \"t\"", 15,
        "expected a field name after '.' (use [n] for array elements)");
}

void TestRuleParser::errors()
{
    QFETCH(QByteArray, sql);
    QFETCH(int, offset);
    QFETCH(QString, message);
    Statement st;
    SqlError err;
    QVERIFY(!Parser::parse(sql, &st, &err));
    QCOMPARE(err.message, message);
    QCOMPARE(err.offset, offset);
}

// The same SQL error, reported at its place in the file for every way TOML can hold a string.
void TestRuleParser::filePositions_data()
{
    QTest::addColumn<QByteArray>("toml");
    QTest::addColumn<QString>("error");
    auto row = [](const char *name, const char *toml, const char *error) {
        QTest::newRow(name) << QByteArray(toml) << QString(error);
    };
    row("literal multi-line, newline trimmed",
        "[[rule]]\nname = \"r\"\nsql = '''\nSELECT a,\n  upper(b\nFROM \"t\"\n'''\n",
        "f.toml:6:1: expected ')', found 'FROM'");
    row("literal multi-line, same line",
        "[[rule]]\nname = \"r\"\nsql = '''SELECT nope(1) FROM \"t\"'''\n",
        "f.toml:3:17: unknown function nope()");
    row("basic multi-line with escapes",
        "[[rule]]\nname = \"r\"\nsql = \"\"\"\nSELECT \\\"x\\\" AS a, \\\n   nope(1) FROM "
        "\"t\"\"\"\"\n",
        "f.toml:5:4: unknown function nope()");
    row("basic one-line with unicode escape",
        "[[rule]]\nname = \"r\"\nsql = \"SELECT '\\u00e9' AS e, nope() FROM \\\"t\\\"\"\n",
        "f.toml:3:30: unknown function nope()");
    row("literal one-line with multibyte",
        "[[rule]]\nname = \"r\"\nsql = 'SELECT \"é\" AS e, nope() FROM \"t\"'\n",
        "f.toml:3:25: unknown function nope()");
    row("crlf file", "[[rule]]\r\nname = \"r\"\r\nsql = '''\r\nSELECT a\r\nFROM t\r\n'''\r\n",
        "f.toml:5:6: expected a quoted topic filter after FROM");
    row("codegen error position",
        "[[rule]]\nname = \"r\"\nsql = '''\nSELECT avg(x) AS a FROM \"t\"'''\n",
        "f.toml:4:8: aggregate avg() is only allowed in the SELECT list of a rule with GROUP BY "
        "..., TUMBLING(d), HOPPING(d, h) or COUNTWINDOW(n)");
    row("arity", "[[rule]]\nname = \"r\"\nsql = '''\nSELECT substr('a') FROM \"t\"'''\n",
        "f.toml:4:8: substr() takes 2 to 3 argument(s), got 1");
    row("toml syntax error", "[[rule]]\nname = \"r\nsql = 'x'\n",
        "f.toml:2:10: Error while parsing string: unescaped control characters other than TAB "
        "(U+0009) are explicitly prohibited");
    row("unknown key", "[[rule]]\nname = \"r\"\nsqll = 'SELECT 1 FROM \"t\"'\n",
        "f.toml:3:8: unknown key 'sqll' in [[rule]] (expected name, sql, actions, enabled, "
        "description)");
    row("action error",
        "[[rule]]\nname = \"r\"\nsql = 'SELECT 1 FROM \"t\"'\nactions = [\n  { type = "
        "\"republish\", qos = 1 },\n]\n",
        "f.toml:5:3: republish action needs 'topic'");
    row("unknown event", "[[rule]]\nname = \"r\"\nsql = 'SELECT 1 FROM \"$events/nope\"'\n",
        "f.toml:3:22: unknown event \"$events/nope\" (expected one of $events/client_connected, "
        "client_disconnected, session_subscribed, session_unsubscribed, message_delivered, "
        "message_acked, message_dropped)");
    row("republish loop",
        "[[rule]]\nname = \"r\"\nsql = 'SELECT 1 FROM \"a/#\"'\nactions = [{ type = \"republish\", "
        "topic = \"a/${clientid}\" }]\n",
        "f.toml:4:12: republish topic 'a/${clientid}' can match the rule's own FROM \"a/#\" (a "
        "loop); change the topic or set allow_loop = true");
    row("duplicate name",
        "[[rule]]\nname = \"r\"\nsql = 'SELECT 1 FROM \"t\"'\n[[rule]]\nname = \"r\"\nsql = "
        "'SELECT 1 FROM \"t\"'\n",
        "f.toml:4:1: duplicate rule name 'r' (first defined at f.toml:1)");
}

void TestRuleParser::filePositions()
{
    QFETCH(QByteArray, toml);
    QFETCH(QString, error);
    RuleEngine engine;
    const LoadReport report = engine.loadText("f.toml", toml);
    QVERIFY(!report.ok);
    QVERIFY2(report.lines().contains(error), qPrintable(report.lines().join("\n")));
}

QTEST_GUILESS_MAIN(TestRuleParser)
#include "tst_rule_parser.moc"
