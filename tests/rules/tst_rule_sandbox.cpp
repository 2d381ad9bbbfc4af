// Sandbox escapes and budgets: the Lua environment offers no way out (io, os, require, load,
// debug, string methods), a runaway loop and a memory bomb are stopped, and through the engine
// such a failure is counted against the rule while the other rules carry on.

#include "RuleHarness.h"
#include "rules/LuaRuntime.h"

#include <QtTest>

#include <lua.hpp>

using namespace ferry::rules;
using namespace ferry::rules::test;

namespace {

// Loads `source` (which returns a function) and calls it; returns its first result as text or
// "error: ...".
QString runLua(LuaRuntime &rt, const QByteArray &source)
{
    QList<int> refs;
    QString error;
    if (!rt.load(source, "t", &refs, &error))
        return "load error: " + error;
    const int base = rt.pushFunction(refs.value(0));
    const bool ok = rt.call(0, &error);
    QString out;
    if (!ok)
        out = "error: " + error;
    else if (lua_gettop(rt.state()) > base)
        out = QString::fromUtf8(luaL_tolstring(rt.state(), base + 1, nullptr));
    rt.settop(base);
    for (int r : refs)
        rt.unref(r);
    return out;
}

} // namespace

class TestRuleSandbox : public QObject {
    Q_OBJECT
private slots:
    void environmentHasNoEscapes_data();
    void environmentHasNoEscapes();
    void environmentIsReadOnly();
    void stringMethodsAreUnreachable();
    void binaryChunksAreRefused();
    void infiniteLoopIsStopped();
    void memoryBombIsStopped();
    void tableBombIsStopped();
    void sqlCannotNameLuaGlobals();
    void engineCountsBudgetFailureAndCarriesOn();
    void engineCountsMemoryFailure();
    void builtinsCapTheirResults();
};

void TestRuleSandbox::environmentHasNoEscapes_data()
{
    QTest::addColumn<QByteArray>("name");
    for (const char *n :
         {"io",           "os",     "require", "load",           "loadstring", "dofile",
          "loadfile",     "debug",  "string",  "pcall",          "xpcall",     "setmetatable",
          "getmetatable", "rawset", "rawget",  "collectgarbage", "coroutine",  "package",
          "_G",           "print",  "utf8",    "table",          "math",       "next",
          "error"})
        QTest::newRow(n) << QByteArray(n);
}

void TestRuleSandbox::environmentHasNoEscapes()
{
    QFETCH(QByteArray, name);
    LuaRuntime rt;
    QCOMPARE(runLua(rt, "return function() return type(" + name + ") end"),
             QString("error: t:1: attempt to call a nil value (global 'type')"));
    // `type` itself is absent; compare against nil directly.
    QCOMPARE(runLua(rt, "return function() return " + name + " == nil end"), QString("true"));
}

void TestRuleSandbox::environmentIsReadOnly()
{
    LuaRuntime rt;
    QCOMPARE(runLua(rt, "return function() x = 1 return x end"),
             QString("error: the rule environment is read-only"));
    QCOMPARE(runLua(rt, "return function() EQ = nil return 1 end"),
             QString("error: the rule environment is read-only"));
}

void TestRuleSandbox::stringMethodsAreUnreachable()
{
    LuaRuntime rt;
    QVERIFY(runLua(rt, "return function() return ('x'):rep(100) end")
                .startsWith("error: t:1: attempt to index a string value"));
}

void TestRuleSandbox::binaryChunksAreRefused()
{
    LuaRuntime rt;
    QList<int> refs;
    QString error;
    QVERIFY(!rt.load(QByteArray("\x1bLua\x54\x00", 6), "bin", &refs, &error));
    QVERIFY2(error.contains("attempt to load a binary chunk"), qPrintable(error));
}

void TestRuleSandbox::infiniteLoopIsStopped()
{
    LuaRuntime rt;
    rt.setInstructionBudget(100000);
    QCOMPARE(runLua(rt, "return function() while true do end end"),
             QString("error: instruction budget exceeded"));
    // The budget is per call: the state is usable afterwards.
    QCOMPARE(
        runLua(rt, "return function() local n = 0 for i = 1, 1000 do n = n + i end return n end"),
        QString("500500"));
}

void TestRuleSandbox::memoryBombIsStopped()
{
    LuaRuntime rt;
    rt.setMemoryLimit(8u << 20);
    rt.setInstructionBudget(1000000000);
    QCOMPARE(runLua(rt, "return function() local s = 'xxxxxxxx' for i = 1, 40 do s = s .. s end "
                        "return #s end"),
             QString("error: not enough memory"));
    QVERIFY(rt.memoryUsed() < (8u << 20));
    QCOMPARE(runLua(rt, "return function() return 1 + 1 end"), QString("2"));
}

void TestRuleSandbox::tableBombIsStopped()
{
    LuaRuntime rt;
    rt.setMemoryLimit(4u << 20);
    rt.setInstructionBudget(1000000000);
    QCOMPARE(runLua(rt, "return function() local t = {} for i = 1, 1e9 do t[i] = i end end"),
             QString("error: not enough memory"));
}

void TestRuleSandbox::sqlCannotNameLuaGlobals()
{
    RuleEngine engine;
    LoadReport r = engine.loadText("s.toml", ruleToml("SELECT load('return 1') AS x FROM \"t\""));
    QCOMPARE(r.lines().value(0), QString("s.toml:4:8: unknown function load()"));
    r = engine.loadText("s.toml", ruleToml("SELECT require('os') AS x FROM \"t\""));
    QCOMPARE(r.lines().value(0), QString("s.toml:4:8: unknown function require()"));
    r = engine.loadText("s.toml", ruleToml("SELECT io.open('/etc/passwd') FROM \"t\""));
    QCOMPARE(r.lines().value(0), QString("s.toml:4:15: expected FROM, found '('"));
    // A bare `os` is just a message field, and it is undefined.
    OneRule rule("SELECT os, debug, 1 AS one FROM \"t\"");
    QCOMPARE(rule.run(message("t", "{}")), QString(R"({"one":1})"));
}

void TestRuleSandbox::engineCountsBudgetFailureAndCarriesOn()
{
    RuleEngine engine;
    engine.setInstructionBudget(20000);
    QList<QString> outputs;
    engine.setOutputObserver(
        [&](const QString &rule, const QVariantMap &) { outputs.append(rule); });
    const QByteArray toml =
        ruleToml("FOREACH payload.list AS x DO x * 2 AS y FROM \"t\"", "[]", "heavy") +
        ruleToml("SELECT 1 AS one FROM \"t\"", "[]", "light");
    QVERIFY(engine.loadText("s.toml", toml).ok);
    QByteArray big = "{\"list\":[";
    for (int i = 0; i < 20000; ++i)
        big += (i ? "," : "") + QByteArray::number(i);
    big += "]}";
    engine.onMessage(message("t", big));
    const auto m = engine.metrics();
    QCOMPARE(m[0].name, QString("heavy"));
    QCOMPARE(m[0].failed, 1u);
    QCOMPARE(m[0].lastError, QString("instruction budget exceeded"));
    QCOMPARE(m[1].passed, 1u);
    QCOMPARE(outputs, QList<QString>{"light"});
    // The heavy rule still works on a small message.
    engine.onMessage(message("t", "{\"list\":[1,2]}"));
    QCOMPARE(engine.metrics()[0].passed, 1u);
    QCOMPARE(engine.metrics()[0].outputs, 2u);
}

void TestRuleSandbox::engineCountsMemoryFailure()
{
    RuleEngine engine;
    engine.setMemoryLimit(2u << 20);
    QVERIFY(engine.loadText("s.toml", ruleToml("SELECT json_decode(payload) AS j FROM \"t\"")).ok);
    QByteArray big = "[";
    for (int i = 0; i < 300000; ++i)
        big += (i ? "," : "") + QByteArray("\"abcdefgh\"");
    big += "]";
    engine.onMessage(message("t", big));
    QCOMPARE(engine.metrics()[0].failed, 1u);
    QCOMPARE(engine.metrics()[0].lastError, QString("not enough memory"));
    engine.onMessage(message("t", "[1]"));
    QCOMPARE(engine.metrics()[0].passed, 1u);
}

void TestRuleSandbox::builtinsCapTheirResults()
{
    OneRule r("SELECT pad('x', 100000000) AS p FROM \"t\"");
    QCOMPARE(r.run(message("t", "{}")), QString("error: pad: length larger than 1048576"));
    OneRule c("SELECT sprintf('~s~s', payload, payload) AS p FROM \"t\"");
    QCOMPARE(c.run(message("t", QByteArray(600000, 'a'))),
             QString("error: sprintf: result larger than 1048576 bytes"));
}

QTEST_GUILESS_MAIN(TestRuleSandbox)
#include "tst_rule_sandbox.moc"
