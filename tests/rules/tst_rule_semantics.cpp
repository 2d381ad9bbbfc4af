// A table of SQL -> input -> expected output: built-in functions and the semantics of
// undefined fields and type mismatches (EMQX's where it defines them; rules/README.md).

#include "RuleHarness.h"
#include "rules/Json.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>

using namespace ferry::rules;
using namespace ferry::rules::test;

class TestRuleSemantics : public QObject {
    Q_OBJECT
private slots:
    void table_data();
    void table();
    void doublesFormatAsQtDoes();
};

void TestRuleSemantics::table_data()
{
    QTest::addColumn<QByteArray>("sql");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<QString>("expected");
    auto row = [](const char *name, const char *sql, const char *payload, const char *expected) {
        QTest::newRow(name) << QByteArray(sql) << QByteArray(payload)
                            << QString::fromUtf8(expected);
    };
    const char *p =
        R"({"temp":31.5,"n":7,"s":"abc","arr":[1,2,3],"obj":{"a":{"b":"deep"}},"nul":null,"t":true,"num":"12"})";
    // fields
    row("payload field", "SELECT payload.temp AS t FROM \"s/#\"", p, R"({"t":31.5})");
    row("nested field", "SELECT payload.obj.a.b AS b FROM \"s/#\"", p, R"({"b":"deep"})");
    row("array index 1-based", "SELECT payload.arr[1] AS a, payload.arr[3] AS c FROM \"s/#\"", p,
        R"({"a":1,"c":3})");
    row("array index negative", "SELECT payload.arr[-1] AS z FROM \"s/#\"", p, R"({"z":3})");
    row("unaliased field nests", "SELECT payload.n FROM \"s/#\"", p, R"({"payload":{"n":7}})");
    row("metadata",
        "SELECT clientid, username, peerhost, qos, topic, timestamp, flags.retain AS r FROM "
        "\"s/#\"",
        p,
        R"({"clientid":"c1","peerhost":"127.0.0.1","qos":1,"r":false,"timestamp":1700000000123,"topic":"s/1","username":"u1"})");
    row("raw payload", "SELECT payload FROM \"s/#\" WHERE payload.n = 7", "{\"n\":7}",
        R"({"payload":"{\"n\":7}"})");
    row("missing field omitted", "SELECT payload.nope AS x, 1 AS y FROM \"s/#\"", p, R"({"y":1})");
    row("json null is undefined",
        "SELECT is_null(payload.nul) AS a, is_null(payload.nope) AS b FROM \"s/#\"", p,
        R"({"a":true,"b":true})");
    row("field of non-json payload", "SELECT payload.x AS x, 2 AS y FROM \"s/#\"", "not json",
        R"({"y":2})");
    row("select star", "SELECT * FROM \"s/#\" WHERE payload.n = 7", "{\"n\":7}",
        R"({"clientid":"c1","event":"message.publish","flags":{"dup":false,"retain":false},"id":"000000000000002A","payload":"{\"n\":7}","peerhost":"127.0.0.1","pub_props":{},"publish_received_at":1700000000123,"qos":1,"retain":false,"timestamp":1700000000123,"topic":"s/1","username":"u1"})");
    row("alias in where", "SELECT payload.temp AS t FROM \"s/#\" WHERE t > 30", p, R"({"t":31.5})");
    row("alias chain", "SELECT payload.n AS n, n * 2 AS d FROM \"s/#\"", p, R"({"d":14,"n":7})");
    // comparison semantics
    row("where false", "SELECT 1 AS x FROM \"s/#\" WHERE payload.temp > 40", p, "no result");
    row("undefined compare is false", "SELECT 1 AS x FROM \"s/#\" WHERE payload.nope < 1", p,
        "no result");
    row("undefined != is false", "SELECT 1 AS x FROM \"s/#\" WHERE payload.nope != 1", p,
        "no result");
    row("undefined = undefined", "SELECT 1 AS x FROM \"s/#\" WHERE payload.a = payload.b", p,
        R"({"x":1})");
    row("numeric string compares as number", "SELECT 1 AS x FROM \"s/#\" WHERE payload.num > 9", p,
        R"({"x":1})");
    row("number vs non-numeric string errors", "SELECT 1 AS x FROM \"s/#\" WHERE payload.s > 9", p,
        "error: cannot compare non-numeric string 'abc' with number");
    row("bool vs string", "SELECT 1 AS x FROM \"s/#\" WHERE payload.t = 'true'", p, R"({"x":1})");
    row("int equals float", "SELECT 1 AS x FROM \"s/#\" WHERE payload.n = 7.0", p, R"({"x":1})");
    row("ne <>", "SELECT 1 AS x FROM \"s/#\" WHERE payload.n <> 8", p, R"({"x":1})");
    row("topic match =~", "SELECT topic =~ 's/+' AS a, topic =~ 'x/#' AS b FROM \"s/#\"", p,
        R"({"a":true,"b":false})");
    row("in list",
        "SELECT payload.n IN (1, 7) AS a, payload.n NOT IN (1, 7) AS b, payload.s IN ('x') AS c "
        "FROM \"s/#\"",
        p, R"({"a":true,"b":false,"c":false})");
    row("and or not",
        "SELECT (true AND NOT false) OR payload.nope AS a, payload.nope AND true AS b FROM \"s/#\"",
        p, R"({"a":true,"b":false})");
    // arithmetic
    row("int arithmetic",
        "SELECT 7 + 3 AS a, 7 - 10 AS b, 6 * 7 AS c, 7 div 2 AS d, -7 div 2 AS e, 7 mod 3 AS f, -7 "
        "mod 3 AS g FROM \"s/#\"",
        p, R"({"a":10,"b":-3,"c":42,"d":3,"e":-3,"f":1,"g":-1})");
    row("division is float", "SELECT 7 / 2 AS a, 6 / 3 AS b FROM \"s/#\"", p,
        R"({"a":3.5,"b":2.0})");
    row("precedence",
        "SELECT 1 + 2 * 3 AS a, (1 + 2) * 3 AS b, -2 * 3 AS c, 10 - 4 - 3 AS d FROM \"s/#\"", p,
        R"({"a":7,"b":9,"c":-6,"d":3})");
    row("string concat with +", "SELECT 'a' + 'b' AS a, 'n=' + payload.n AS b FROM \"s/#\"", p,
        R"({"a":"ab","b":"n=7"})");
    row("arith on undefined errors", "SELECT payload.nope + 1 AS x FROM \"s/#\"", p,
        "error: type error: undefined + number");
    row("arith on string errors", "SELECT payload.s * 2 AS x FROM \"s/#\"", p,
        "error: type error: string * number");
    row("division by zero errors", "SELECT 1 / 0 AS x FROM \"s/#\"", p, "error: division by zero");
    // CASE
    row("case searched",
        "SELECT CASE WHEN payload.temp > 40 THEN 'hot' WHEN payload.temp > 30 THEN 'warm' ELSE "
        "'cold' END AS c FROM \"s/#\"",
        p, R"({"c":"warm"})");
    row("case simple",
        "SELECT CASE payload.n WHEN 1 THEN 'one' WHEN 7 THEN 'seven' END AS c FROM \"s/#\"", p,
        R"({"c":"seven"})");
    row("case no else", "SELECT CASE WHEN false THEN 1 END AS c, 0 AS z FROM \"s/#\"", p,
        R"({"z":0})");
    // math
    row("math",
        "SELECT abs(-3) AS a, ceil(1.2) AS b, floor(1.8) AS c, round(2.5) AS d, round(3.14159, 2) "
        "AS e, sqrt(16) AS f, power(2, 10) AS g FROM \"s/#\"",
        p, R"({"a":3,"b":2,"c":1,"d":3,"e":3.14,"f":4.0,"g":1024.0})");
    row("logs", "SELECT log10(1000) AS a, log2(8) AS b, exp(0) AS c, fmod(7, 3) AS d FROM \"s/#\"",
        p, R"({"a":3.0,"b":3.0,"c":1.0,"d":1.0})");
    row("trig", "SELECT sin(0) AS a, cos(0) AS b, atan(0) AS c FROM \"s/#\"", p,
        R"({"a":0.0,"b":1.0,"c":0.0})");
    row("sqrt negative errors", "SELECT sqrt(-1) AS x FROM \"s/#\"", p,
        "error: sqrt: negative argument");
    row("bits",
        "SELECT bitand(12, 10) AS a, bitor(12, 10) AS b, bitxor(12, 10) AS c, bitnot(0) AS d, "
        "bitsl(1, 4) AS e, bitsr(16, 2) AS f FROM \"s/#\"",
        p, R"({"a":8,"b":14,"c":6,"d":-1,"e":16,"f":4})");
    // conversion and type tests
    row("conversions",
        "SELECT str(1.5) AS a, str(7) AS b, int('42') AS c, int(3.9) AS d, float(2) AS e, "
        "bool('true') AS f, str(payload.arr) AS g FROM \"s/#\"",
        p, R"({"a":"1.5","b":"7","c":42,"d":3,"e":2.0,"f":true,"g":"[1,2,3]"})");
    row("int of junk errors", "SELECT int('x1') AS x FROM \"s/#\"", p,
        "error: int: cannot convert string 'x1'");
    row("type tests",
        "SELECT is_str(payload.s) AS a, is_num(payload.n) AS b, is_int(payload.temp) AS c, "
        "is_float(payload.temp) AS d, is_bool(payload.t) AS e, is_map(payload.obj) AS f, "
        "is_array(payload.arr) AS g, is_not_null(payload.n) AS h FROM \"s/#\"",
        p, R"({"a":true,"b":true,"c":false,"d":true,"e":true,"f":true,"g":true,"h":true})");
    // strings
    row("case and trim",
        "SELECT lower('AbC') AS a, upper('straße') AS b, trim('  x ') AS c, ltrim('  x ') AS d, "
        "rtrim('  x ') AS e FROM \"s/#\"",
        p, R"({"a":"abc","b":"STRASSE","c":"x","d":"x ","e":"  x"})");
    row("unicode length and reverse",
        "SELECT strlen('héllo') AS a, reverse('héllo') AS b, substr('abcdef', 2) AS c, "
        "substr('abcdef', 1, 3) AS d FROM \"s/#\"",
        p, R"({"a":5,"b":"olléh","c":"cdef","d":"bcd"})");
    row("split tokens",
        "SELECT split('a/b//c', '/') AS a, split('a/b//c', '/', 'notrim') AS b, split('a=b=c', "
        "'=', 'leading') AS c, tokens('a, b;c', ', ;') AS d FROM \"s/#\"",
        p, R"({"a":["a","b","c"],"b":["a","b","","c"],"c":["a","b=c"],"d":["a","b","c"]})");
    row("replace",
        "SELECT replace('a-b-c', '-', '+') AS a, replace('a-b-c', '-', '+', 'trailing') AS b, "
        "concat('x', 1, true) AS c FROM \"s/#\"",
        p, R"({"a":"a+b+c","b":"a-b+c","c":"x1true"})");
    row("regex",
        R"(SELECT regex_match('abc123', '\d+$') AS a, regex_replace('a1b22', '\d+', '#') AS b, regex_extract('k=v; x=y', '(\w+)=(\w+)') AS c, regex_match('abc', '^\d') AS d FROM "s/#")",
        p, R"({"a":true,"b":"a#b#","c":["k","v"],"d":false})");
    row("find pad sprintf",
        "SELECT find('a/b/c', '/') AS a, find('a/b/c', '/', 'trailing') AS b, find('abc', 'z') AS "
        "c, pad('7', 3, 'leading', '0') AS d, sprintf('~s=~p', 'k', 'v') AS e FROM \"s/#\"",
        p, R"({"a":"/b/c","b":"/c","c":"","d":"007","e":"k=\"v\""})");
    row("string fn type error", "SELECT upper(payload.n) AS x FROM \"s/#\"", p,
        "error: upper: argument 1 must be a string, got number");
    // maps and arrays
    row("map functions",
        "SELECT map_get('a.b', payload.obj) AS a, map_get('zz', payload.obj, 'dflt') AS b, "
        "map_keys(payload.obj) AS c, map_get('k', map_put('k', 1, payload.obj)) AS d FROM \"s/#\"",
        p, R"({"a":"deep","b":"dflt","c":["a"],"d":1})");
    row("array functions",
        "SELECT nth(2, payload.arr) AS a, length(payload.arr) AS b, sublist(2, payload.arr) AS c, "
        "sublist(2, 2, payload.arr) AS d, first(payload.arr) AS e, last(payload.arr) AS f, "
        "contains(2, payload.arr) AS g FROM \"s/#\"",
        p, R"({"a":2,"b":3,"c":[1,2],"d":[2,3],"e":1,"f":3,"g":true})");
    row("nth out of range errors", "SELECT nth(9, payload.arr) AS x FROM \"s/#\"", p,
        "error: nth: index 9 out of range 1..3");
    // encoding, hashing
    row("json",
        "SELECT json_encode(payload.obj) AS a, json_decode('{\"x\":[1,null]}') AS b FROM \"s/#\"",
        p, R"({"a":"{\"a\":{\"b\":\"deep\"}}","b":{"x":[1,null]}})");
    row("base64 hex",
        "SELECT base64_encode('hi') AS a, base64_decode('aGk=') AS b, bin2hexstr('hi') AS c, "
        "hexstr2bin('6869') AS d FROM \"s/#\"",
        p, R"({"a":"aGk=","b":"hi","c":"6869","d":"hi"})");
    row("hashes", "SELECT md5('abc') AS a, sha('abc') AS b, sha256('abc') AS c FROM \"s/#\"", p,
        R"({"a":"900150983cd24fb0d6963f7d28e17f72","b":"a9993e364706816aba3e25717850c26c9cd0d89d","c":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"})");
    // time
    row("time",
        "SELECT unix_ts_to_rfc3339(0) AS a, unix_ts_to_rfc3339(1500, 'millisecond') AS b, "
        "rfc3339_to_unix_ts('1970-01-01T00:01:00Z') AS c, format_date('second', '+02:00', "
        "'%Y-%m-%d %H:%M:%S', 0) AS d FROM \"s/#\"",
        p,
        R"({"a":"1970-01-01T00:00:00Z","b":"1970-01-01T00:00:01.500Z","c":60,"d":"1970-01-01 02:00:00"})");
    row("uuid shape",
        "SELECT regex_match(uuid_v4(), "
        "'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$') AS u FROM "
        "\"s/#\"",
        p, R"({"u":true})");
    // FOREACH
    row("foreach plain", "FOREACH payload.arr FROM \"s/#\"", p,
        "{\"item\":1}\n{\"item\":2}\n{\"item\":3}");
    row("foreach do incase",
        "FOREACH payload.sensors AS s DO s.name AS name, s.v * 10 AS v INCASE s.v > 1 FROM \"s/#\"",
        R"({"sensors":[{"name":"a","v":1},{"name":"b","v":2},{"name":"c","v":3}]})",
        "{\"name\":\"b\",\"v\":20}\n{\"name\":\"c\",\"v\":30}");
    row("foreach maps", "FOREACH payload.sensors FROM \"s/#\" WHERE clientid = 'c1'",
        R"({"sensors":[{"a":1},{"b":2}]})", "{\"a\":1}\n{\"b\":2}");
    row("foreach not array", "FOREACH payload.nope FROM \"s/#\"", p, "no result");
    row("foreach where false", "FOREACH payload.arr FROM \"s/#\" WHERE false", p, "no result");
    // payload decoding by shape, output encoding (the rule hot path's shortcuts)
    row("duplicate json key: last wins", "SELECT payload.a AS a FROM \"s/#\"", R"({"a":1,"b":0,"a":2})",
        R"({"a":2})");
    row("nested shape beside unread keys",
        "SELECT payload.obj.a.b AS b, payload.obj.x AS x FROM \"s/#\"",
        R"({"n":1,"obj":{"y":[1],"a":{"c":0,"b":"deep"},"x":{"k":[true,null]}}})",
        R"({"b":"deep","x":{"k":[true,null]}})");
    row("field read whole and nested", "SELECT payload.obj AS o, payload.obj.a AS a FROM \"s/#\"",
        R"({"obj":{"a":1,"z":"q"},"w":2})", R"({"a":1,"o":{"a":1,"z":"q"}})");
    row("string escapes in output", "SELECT payload.s AS s FROM \"s/#\"",
        R"({"s":"q\"b\\s/\n\r\t\u0001\u001f é€"})",
        "{\"s\":\"q\\\"b\\\\s/\\n\\r\\t\\u0001\\u001f é€\"}");
    row("non-ascii and escaped keys in output", "SELECT payload.m AS m FROM \"s/#\"",
        R"({"m":{"é":1,"a\"b":2,"plain":3}})", "{\"m\":{\"a\\\"b\":2,\"plain\":3,\"é\":1}}");
    row("number comparisons", "SELECT payload.a > payload.b AS gt, payload.a >= payload.b AS ge, "
        "payload.a < payload.b AS lt, payload.a <= payload.b AS le, 2 >= 2.0 AS ge2, "
        "1 <= 1 AS le1 FROM \"s/#\"", R"({"a":3,"b":2.5})",
        R"({"ge":true,"ge2":true,"gt":true,"le":false,"le1":true,"lt":false})");
    row("ordering undefined both", "SELECT payload.x <= payload.y AS le, payload.x >= payload.y AS ge, "
        "payload.x < payload.y AS lt FROM \"s/#\"", p, R"({"ge":true,"le":true,"lt":false})");
    row("ordering number and numeric string", "SELECT payload.num > 11 AS gt, payload.num < 11.5 AS lt "
        "FROM \"s/#\"", p, R"({"gt":true,"lt":false})");
    row("ordering type error", "SELECT payload.t > 1 AS x FROM \"s/#\"", p,
        "error: type error: cannot order boolean > number");
    // a payload path read more than once (kept in a local when read at the top level)
    row("payload path in where, select and case",
        "SELECT payload.n AS a, CASE WHEN payload.n > 5 THEN payload.obj.a.b ELSE payload.s END "
        "AS b, payload.obj.a.b AS c FROM \"s/#\" WHERE payload.n = 7 AND payload.obj.a.b = 'deep'",
        p, R"({"a":7,"b":"deep","c":"deep"})");
    row("payload path first read in a branch",
        "SELECT CASE WHEN payload.t THEN payload.s ELSE 'x' END AS a, payload.s AS b, "
        "CASE WHEN payload.nope THEN payload.s END AS c FROM \"s/#\"",
        p, R"({"a":"abc","b":"abc"})");
    row("payload path after or and and",
        "SELECT payload.n AS n FROM \"s/#\" WHERE (payload.nope = 1 OR payload.n = 7) AND "
        "payload.n < 10 AND is_null(payload.nope)",
        p, R"({"n":7})");
    row("payload path in foreach",
        "FOREACH payload.arr AS v DO v * payload.n AS m INCASE v > payload.n - 6 FROM \"s/#\" "
        "WHERE payload.n = 7",
        p, "{\"m\":14}\n{\"m\":21}");
    row("payload path beside indexes",
        "SELECT payload.obj.a.b AS x, payload.arr[2] AS y, payload.obj.a AS z, payload.arr AS w "
        "FROM \"s/#\"",
        p, R"({"w":[1,2,3],"x":"deep","y":2,"z":{"b":"deep"}})");
    row("field of an array, of a JSON string, of a number",
        "SELECT payload.arr.x AS a, payload.js.k AS b, payload.n.x AS c, payload.js.nul AS d, "
        "payload.bad.k AS e FROM \"s/#\"",
        R"({"arr":[1],"js":"{\"k\":5,\"nul\":null}","n":3,"bad":"{nope"})", R"({"b":5})");
    row("float output forms",
        "SELECT payload.a AS a, payload.b AS b, payload.c AS c, payload.d AS d, payload.e AS e, "
        "payload.f AS f, payload.g AS g, payload.h AS h, payload.i AS i FROM \"s/#\"",
        R"({"a":100000.0,"b":1e-5,"c":-0.0,"d":1500000.5,"e":123456789012345678.0,"f":0.001,"g":0.0001,"h":-2.5e-300,"i":1500000.0})",
        R"({"a":1e+05,"b":1e-05,"c":0.0,"d":1500000.5,"e":123456789012345680.0,"f":0.001,"g":1e-04,"h":-2.5e-300,"i":1500000.0})");
    // comments
    row("sql comment", "SELECT 1 AS x -- a comment\nFROM \"s/#\"", p, R"({"x":1})");
}

void TestRuleSemantics::table()
{
    QFETCH(QByteArray, sql);
    QFETCH(QByteArray, payload);
    QFETCH(QString, expected);
    OneRule r(sql);
    QVERIFY2(r.report.ok, qPrintable(r.report.lines().join("\n")));
    QCOMPARE(r.run(message("s/1", payload)), expected);
}

void TestRuleSemantics::doublesFormatAsQtDoes()
{
    // json::formatDouble (every float in a rule's JSON output) is its own shortest-digits
    // formatter: it must give exactly QByteArray::number(d, 'g', FloatingPointShortest), with
    // ".0" added when that has no '.' or exponent, as the engine always printed.
    const auto reference = [](double d) {
        QByteArray s = QByteArray::number(d, 'g', QLocale::FloatingPointShortest);
        if (!s.contains('.') && !s.contains('e') && !s.contains('n') && !s.contains('i'))
            s += ".0";
        return s;
    };
    int checked = 0;
    QString firstMismatch;
    const auto check = [&](double d) {
        ++checked;
        const QByteArray got = json::formatDouble(d);
        if (got != reference(d) && firstMismatch.isEmpty())
            firstMismatch = QString::asprintf("%.17g: got %s, Qt %s", d, got.constData(),
                                              reference(d).constData());
    };
    for (double d : {0.0, -0.0, 1.0, -1.0, 0.1, 31.5, 1e5, 1e6, 1.5e6, 123456.0, 1e15, 1e16, 1e17,
                     1e21, 1e22, 1e100, 1e-4, 1.2e-4, 1e-5, 5e-324, 2.2250738585072014e-308,
                     1.7976931348623157e308, 123456789012345678.0, 0.30000000000000004,
                     double(INFINITY), -double(INFINITY), double(NAN)})
        check(d);
    std::mt19937_64 rng(4);
    for (int i = 0; i < 200000; ++i) { // any bit pattern
        const quint64 bits = rng();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        check(d);
    }
    std::uniform_int_distribution<int> mantissa(-999999, 999999), scale(-12, 12);
    for (int i = 0; i < 200000; ++i) // decimal-looking values, as sensors send
        check(mantissa(rng) * std::pow(10.0, scale(rng)));
    std::uniform_int_distribution<qint64> longMantissa(100000000000000, 99999999999999999);
    for (int i = 0; i < 100000; ++i) // 15 to 17 digits, where a short decimal stops existing
        check(double(longMantissa(rng)) / std::pow(10.0, scale(rng) + 12));
    for (int e = -325; e <= 308; ++e) // every decimal exponent, short and long digit strings
        for (double m : {1.0, 2.5, 9.99, 1.2345678901234567})
            check(m * std::pow(10.0, e));
    QVERIFY2(firstMismatch.isEmpty(), qPrintable(firstMismatch));
    QVERIFY(checked > 400000);
}

QTEST_GUILESS_MAIN(TestRuleSemantics)
#include "tst_rule_semantics.moc"
