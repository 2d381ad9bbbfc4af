#include "rules/RuleEngine.h"

#include "rules/ActionSink.h"
#include "rules/Clock.h"
#include "rules/Codegen.h"
#include "rules/Logging.h"
#include "rules/LuaValue.h"
#include "rules/Parser.h"
#include "rules/RuleInput.h"
#include "rules/RuleSet.h"
#include "rules/StoreDatabase.h"

#include <QDir>
#include <QVarLengthArray>

#include <QNetworkAccessManager>
#include <algorithm>
#include <tuple>

#include <lua.hpp>

namespace ferry::rules {

namespace {

// EMQX's event topics that the broker reports (issue 4).
const char *const kEvents[] = {"$events/client_connected",   "$events/client_disconnected",
                               "$events/session_subscribed", "$events/session_unsubscribed",
                               "$events/message_delivered",  "$events/message_acked",
                               "$events/message_dropped"};

bool knownEvent(const QByteArray &topic)
{
    for (const char *e : kEvents)
        if (topic == e)
            return true;
    return false;
}

// "a.b" nests: {"a": {"b": v}}. Undefined values are left out of the row.
void insertPath(QVariantMap &row, const QByteArray &alias, const QVariant &v)
{
    if (!v.isValid())
        return;
    const qsizetype dot = alias.indexOf('.');
    if (dot < 0) {
        row.insert(QString::fromUtf8(alias), v);
        return;
    }
    const QString head = QString::fromUtf8(alias.left(dot));
    QVariantMap inner = row.value(head).toMap();
    insertPath(inner, alias.mid(dot + 1), v);
    row.insert(head, inner);
}

// Column i of the rule's output into the row; undefined values are left out.
void putColumn(QVariantMap &row, const CompiledRule &rule, int i, const QVariant &v)
{
    const QString &key = rule.columnKeys[i];
    if (key.isNull())
        insertPath(row, rule.query.columns[i], v);
    else if (v.isValid())
        row.insert(key, v);
}

QVariantMap rowFrom(const CompiledRule &rule, const QVariantList &values, const QVariantMap &base)
{
    QVariantMap row = base;
    for (int i = 0; i < rule.query.columns.size(); ++i)
        putColumn(row, rule, i, values.value(i));
    return row;
}

void pushList(lua_State *L, const QVariantList &values)
{
    lua_createtable(L, int(values.size()), 0);
    for (int i = 0; i < values.size(); ++i) {
        if (!values[i].isValid())
            continue;
        luavalue::pushVariant(L, values[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

} // namespace

QStringList LoadReport::lines() const
{
    QStringList out;
    for (const LoadError &e : errors)
        out.append(e.toString());
    return out;
}

RuleEngine::RuleEngine(QObject *parent) : QObject(parent), m_systemClock(new SystemClock)
{
    m_clock = m_systemClock.get();
    m_windowTimer.setSingleShot(true);
    connect(&m_windowTimer, &QTimer::timeout, this, &RuleEngine::closeDueWindows);
}

RuleEngine::~RuleEngine() = default;

void RuleEngine::setClock(Clock *clock)
{
    m_clock = clock ? clock : m_systemClock.get();
}
qint64 RuleEngine::now() const
{
    return m_clock->nowMs();
}

void RuleEngine::setDryRun(std::function<void(const QString &, const QString &)> describe)
{
    m_dryRun = std::move(describe);
}

void RuleEngine::setOutputObserver(std::function<void(const QString &, const QVariantMap &)> f)
{
    m_observer = std::move(f);
}

LoadReport RuleEngine::loadDirectory(const QString &dir)
{
    QDir d(dir);
    if (!d.exists()) {
        LoadReport r;
        r.ok = false;
        r.errors.append({dir, 0, 0, "rules directory does not exist"});
        return r;
    }
    QStringList files;
    for (const QString &f : d.entryList({"*.toml"}, QDir::Files, QDir::Name))
        files.append(d.filePath(f));
    return loadFiles(files);
}

LoadReport RuleEngine::loadFiles(const QStringList &files)
{
    LoadReport report;
    QList<RuleSpec> specs;
    for (const QString &f : files) {
        RuleFile::load(f, &specs, &report.errors);
        ++report.files;
    }
    return load(specs, report);
}

LoadReport RuleEngine::loadText(const QString &fileName, const QByteArray &toml)
{
    LoadReport report;
    QList<RuleSpec> specs;
    RuleFile::loadText(fileName, toml, &specs, &report.errors);
    report.files = 1;
    return load(specs, report);
}

LoadReport RuleEngine::check(const QStringList &files)
{
    RuleEngine scratch;
    return scratch.loadFiles(files);
}

LoadReport RuleEngine::load(QList<RuleSpec> specs, LoadReport report)
{
    auto set = std::make_unique<RuleSet>();
    if (!set->runtime.isValid()) {
        report.errors.append({QString(), 0, 0, "cannot create the Lua runtime"});
        report.ok = false;
        return report;
    }
    set->runtime.setInstructionBudget(m_budget);
    set->runtime.setMemoryLimit(m_memoryLimit);
    set->runtime.setClock([this] { return now(); });
    QHash<QString, const RuleSpec *> names;
    for (const RuleSpec &spec : specs) {
        if (const RuleSpec *first = names.value(spec.name)) {
            report.errors.append(
                spec.error(spec.line, spec.column,
                           QString("duplicate rule name '%1' (first defined at %2:%3)")
                               .arg(spec.name, first->source->path())
                               .arg(first->line)));
            continue;
        }
        names.insert(spec.name, &spec);
        auto rule = std::make_unique<CompiledRule>();
        rule->spec = spec;
        Statement st;
        SqlError err;
        if (!Parser::parse(spec.sql, &st, &err) || !Codegen::compile(st, &rule->query, &err)) {
            report.errors.append(spec.sqlError(err.offset, err.message));
            continue;
        }
        bool ok = true;
        for (const FromItem &f : st.from) {
            if (f.filter.startsWith("$events/") && !knownEvent(f.filter)) {
                report.errors.append(spec.sqlError(
                    f.offset, QString("unknown event \"%1\" (expected one of $events/"
                                      "client_connected, client_disconnected, session_subscribed, "
                                      "session_unsubscribed, message_delivered, message_acked, "
                                      "message_dropped)")
                                  .arg(QString::fromUtf8(f.filter))));
                ok = false;
            } else if (!isValidFilter(f.filter)) {
                report.errors.append(spec.sqlError(
                    f.offset,
                    QString("invalid topic filter \"%1\"").arg(QString::fromUtf8(f.filter))));
                ok = false;
            }
        }
        for (const ActionSpec &a : spec.actions) {
            QString error;
            auto action = createAction(a, rule->query.from, &error);
            if (!action) {
                report.errors.append(spec.error(a.line, a.column, error));
                ok = false;
                continue;
            }
            rule->actions.push_back(std::move(action));
        }
        if (!ok)
            continue;
        QList<int> refs;
        QString luaError;
        if (!set->runtime.load(rule->query.lua, spec.name.toUtf8(), &refs, &luaError) ||
            refs.isEmpty()) {
            // A code generator bug, not the user's: say so, with the rule's position.
            report.errors.append(
                spec.error(spec.line, spec.column, "internal error compiling rule: " + luaError));
            qCWarning(lcRules, "rule=%s generated=\n%s", qUtf8Printable(spec.name),
                      rule->query.lua.constData());
            continue;
        }
        for (const QByteArray &c : rule->query.columns)
            rule->columnKeys.append(c.contains('.') ? QString() : QString::fromUtf8(c));
        rule->fnRef = refs.value(0);
        rule->finishRef = refs.value(1, -1);
        if (rule->query.window.kind != WindowSpec::Kind::None)
            rule->window =
                std::make_unique<WindowAggregator>(rule->query.window, rule->query.aggregates);
        // Counters survive a reload of a rule with the same name.
        rule->metrics = std::make_shared<RuleMetrics>();
        rule->metrics->name = spec.name;
        if (m_set) {
            for (const auto &old : m_set->rules) {
                if (old->spec.name == spec.name) {
                    *rule->metrics = *old->metrics;
                    break;
                }
            }
        }
        set->rules.push_back(std::move(rule));
    }
    report.rules = int(set->rules.size());
    report.ok = report.errors.isEmpty();
    std::stable_sort(
        report.errors.begin(), report.errors.end(), [](const LoadError &a, const LoadError &b) {
            return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
        });
    if (!report.ok) {
        for (const LoadError &e : report.errors)
            qCWarning(lcRules, "rules not loaded: %s", qUtf8Printable(e.toString()));
        return report;
    }
    for (int i = 0; i < int(set->rules.size()); ++i) {
        const CompiledRule &r = *set->rules[size_t(i)];
        if (!r.spec.enabled)
            continue;
        for (const FromItem &f : r.query.from)
            set->index.insert(f.filter, i);
    }
    // Windows open in the old set are dropped with it: a reload starts fresh windows.
    m_set = std::move(set);
    qCInfo(lcRules, "rules loaded count=%d files=%d", report.rules, report.files);
    armWindowTimer();
    return report;
}

void RuleEngine::onMessage(const core::Message &message)
{
    if (!m_set || m_set->index.isEmpty())
        return;
    m_matchScratch.clear();
    m_set->index.match(message.topic(), &m_matchScratch);
    if (m_matchScratch.isEmpty())
        return;
    dispatch(RuleInput::fromMessage(message));
}

bool RuleEngine::listensTo(const QByteArray &topic) const
{
    if (!m_set || m_set->index.isEmpty())
        return false;
    QList<int> ids;
    m_set->index.match(topic, &ids);
    return !ids.isEmpty();
}

void RuleEngine::onEvent(const QByteArray &eventTopic, const QVariantMap &fields, int ruleHops)
{
    if (!m_set || m_set->index.isEmpty())
        return;
    m_matchScratch.clear();
    m_set->index.match(eventTopic, &m_matchScratch);
    if (m_matchScratch.isEmpty())
        return;
    dispatch(RuleInput::fromEvent(eventTopic, fields, now(), ruleHops));
}

void RuleEngine::dispatch(const RuleInput &input)
{
    // Copy: actions may re-enter onMessage (republish), which reuses the scratch list. A
    // local array, so that the scratch list is never shared and its clear() never detaches.
    const QVarLengthArray<int, 16> matched(m_matchScratch.cbegin(), m_matchScratch.cend());
    RuleSet *set = m_set.get();
    const int outerHops = m_inputHops;
    m_inputHops = input.ruleHops();
    for (int i : matched) {
        CompiledRule &rule = *set->rules[size_t(i)];
        QList<QVariantMap> rows;
        if (execute(rule, input, &rows))
            deliver(rule, rows);
        if (m_set.get() != set)
            break; // an action reloaded the rules
    }
    m_inputHops = outerHops;
}

bool RuleEngine::execute(CompiledRule &rule, const RuleInput &input, QList<QVariantMap> *rows)
{
    RuleMetrics &m = *rule.metrics;
    ++m.matched;
    QElapsedTimer timer;
    timer.start();
    LuaRuntime &rt = m_set->runtime;
    lua_State *L = rt.state();
    const CompiledQuery &q = rule.query;
    const int base = rt.pushFunction(rule.fnRef);
    for (const QByteArray &root : q.roots)
        input.push(L, root);
    if (q.payloadDirect)
        rt.setPayload(input.payloadText());
    QString error;
    bool ok = rt.call(int(q.roots.size()), &error);
    if (q.payloadDirect)
        rt.clearPayload();
    bool produced = false;
    if (ok && lua_toboolean(L, base + 1)) {
        if (rule.window) {
            ++m.passed;
            QVariantList groups, args, lasts;
            int idx = base + 2;
            for (int i = 0; i < q.groupCount; ++i)
                groups.append(luavalue::toVariant(L, idx++));
            for (int i = 0; i < q.aggregates.size(); ++i)
                args.append(luavalue::toVariant(L, idx++));
            for (int i = 0; i < q.lastCount; ++i)
                lasts.append(luavalue::toVariant(L, idx++));
            rt.settop(base);
            QList<WindowAggregator::Result> closed;
            rule.window->closeDue(now(), &closed);
            rule.window->add(now(), groups, args, lasts, &closed);
            m.timeNs += quint64(timer.nsecsElapsed());
            armWindowTimer();
            // Results of windows that closed just now (count windows, or a late timer).
            finishResults(rule, closed, rows);
            return !rows->isEmpty();
        }
        if (q.isForeach) {
            const int list = base + 2;
            const lua_Integer n = lua_istable(L, list) ? lua_Integer(lua_rawlen(L, list)) : 0;
            for (lua_Integer i = 1; i <= n; ++i) {
                lua_rawgeti(L, list, i);
                const int item = lua_gettop(L);
                if (q.foreachHasDo) {
                    QVariantList values;
                    for (int c = 0; c < q.columns.size(); ++c) {
                        lua_rawgeti(L, item, c + 1);
                        values.append(luavalue::toVariant(L, -1));
                        lua_pop(L, 1);
                    }
                    rows->append(rowFrom(rule, values, q.hasStar ? input.all() : QVariantMap()));
                } else {
                    lua_rawgeti(L, item, 1);
                    const QVariant v = luavalue::toVariant(L, -1);
                    lua_pop(L, 1);
                    if (v.typeId() == QMetaType::QVariantMap)
                        rows->append(v.toMap());
                    else if (v.isValid())
                        rows->append(QVariantMap{{QString::fromUtf8(q.foreachAlias), v}});
                }
                lua_pop(L, 1);
            }
            produced = !rows->isEmpty();
        } else {
            QVariantMap row = q.hasStar ? input.all() : QVariantMap();
            for (int i = 0; i < q.columns.size(); ++i)
                putColumn(row, rule, i, luavalue::toVariant(L, base + 2 + i));
            rows->append(std::move(row));
            produced = true;
        }
    }
    rt.settop(base);
    m.timeNs += quint64(timer.nsecsElapsed());
    if (!ok) {
        ++m.failed;
        m.lastError = error;
        qCWarning(lcRules, "rule=%s topic=%s error=\"%s\"", qUtf8Printable(m.name),
                  input.topic().constData(), qUtf8Printable(error));
        return false;
    }
    if (produced)
        ++m.passed;
    else
        ++m.noResult;
    return produced;
}

void RuleEngine::deliver(CompiledRule &rule, const QList<QVariantMap> &rows)
{
    RuleMetrics &m = *rule.metrics;
    if (rule.actions.empty() && !m_observer) {
        m.outputs += quint64(rows.size());
        return;
    }
    ActionEnv env;
    env.sink = m_sink;
    env.clock = m_clock;
    env.network = [this] {
        if (!m_network)
            m_network = new QNetworkAccessManager(this);
        return m_network;
    };
    env.store = [this](const QString &path) { return storeDatabase(path); };
    // Synchronous nesting (republish -> router -> this engine) and the hops the input carries
    // (a message_delivered/acked event comes later, outside that nesting) bound loops alike.
    env.republishDepth = std::max(m_depth, m_inputHops);
    std::shared_ptr<RuleMetrics> metrics = rule.metrics;
    for (const QVariantMap &row : rows) {
        ++m.outputs;
        if (m_observer)
            m_observer(m.name, row);
        for (const auto &action : rule.actions) {
            if (m_dryRun) {
                m_dryRun(m.name, action->describe(row));
                continue;
            }
            QString error;
            ++m_depth;
            const bool ok = action->fire(row, env, metrics, &error);
            --m_depth;
            if (action->type() == "webhook" && ok)
                continue; // counted when the response arrives
            if (ok) {
                ++m.actionsFired;
            } else {
                ++m.actionsFailed;
                m.lastActionError = QString("%1: %2").arg(QString::fromUtf8(action->type()), error);
                qCWarning(lcRules, "rule=%s action=%s error=\"%s\"", qUtf8Printable(m.name),
                          action->type().constData(), qUtf8Printable(error));
            }
        }
    }
}

bool RuleEngine::finishWindows(CompiledRule &rule, bool all, QList<QVariantMap> *rows)
{
    if (!rule.window)
        return false;
    QList<WindowAggregator::Result> closed;
    if (all)
        rule.window->closeAll(&closed);
    else
        rule.window->closeDue(now(), &closed);
    finishResults(rule, closed, rows);
    return !rows->isEmpty();
}

void RuleEngine::finishResults(CompiledRule &rule, const QList<WindowAggregatorResult> &closed,
                               QList<QVariantMap> *rows)
{
    LuaRuntime &rt = m_set->runtime;
    lua_State *L = rt.state();
    for (const auto &r : closed) {
        QElapsedTimer timer;
        timer.start();
        const int b = rt.pushFunction(rule.finishRef);
        pushList(L, r.aggregates);
        pushList(L, r.lasts);
        lua_pushinteger(L, r.windowStart);
        lua_pushinteger(L, r.windowEnd);
        QString err;
        if (!rt.call(4, &err)) {
            ++rule.metrics->failed;
            rule.metrics->lastError = err;
        } else {
            QVariantList values;
            for (int i = 0; i < rule.query.columns.size(); ++i)
                values.append(luavalue::toVariant(L, b + 1 + i));
            rows->append(rowFrom(rule, values, {}));
        }
        rt.settop(b);
        rule.metrics->timeNs += quint64(timer.nsecsElapsed());
    }
}

void RuleEngine::closeDueWindows()
{
    if (!m_set)
        return;
    RuleSet *set = m_set.get();
    for (auto &rule : set->rules) {
        QList<QVariantMap> rows;
        if (finishWindows(*rule, false, &rows))
            deliver(*rule, rows);
        if (m_set.get() != set)
            return;
    }
    armWindowTimer();
}

void RuleEngine::flushWindows()
{
    if (!m_set)
        return;
    for (auto &rule : m_set->rules) {
        QList<QVariantMap> rows;
        if (finishWindows(*rule, true, &rows))
            deliver(*rule, rows);
    }
}

void RuleEngine::armWindowTimer()
{
    if (!m_set)
        return;
    qint64 next = -1;
    for (const auto &rule : m_set->rules) {
        if (!rule->window)
            continue;
        const qint64 d = rule->window->nextDeadline();
        if (d >= 0 && (next < 0 || d < next))
            next = d;
    }
    if (next < 0) {
        m_windowTimer.stop();
        return;
    }
    const qint64 wait = qBound<qint64>(0, next - now(), qint64(3600) * 1000);
    m_windowTimer.start(int(wait));
}

QList<RuleMetrics> RuleEngine::metrics() const
{
    QList<RuleMetrics> out;
    if (m_set)
        for (const auto &r : m_set->rules)
            out.append(*r->metrics);
    return out;
}

QStringList RuleEngine::ruleNames() const
{
    QStringList out;
    if (m_set)
        for (const auto &r : m_set->rules)
            out.append(r->spec.name);
    return out;
}

bool RuleEngine::ruleMatchesTopic(const QString &name, const QByteArray &topic) const
{
    if (!m_set)
        return false;
    for (const auto &r : m_set->rules)
        if (r->spec.name == name)
            for (const FromItem &f : r->query.from)
                if (filterMatches(f.filter, topic))
                    return true;
    return false;
}

bool RuleEngine::runRule(const QString &name, const core::Message &message, QString *error)
{
    if (!m_set) {
        *error = "no rules loaded";
        return false;
    }
    for (auto &r : m_set->rules) {
        if (r->spec.name != name)
            continue;
        const quint64 failedBefore = r->metrics->failed;
        QList<QVariantMap> rows;
        execute(*r, RuleInput::fromMessage(message), &rows);
        if (r->window)
            finishWindows(*r, true, &rows);
        if (r->metrics->failed != failedBefore) {
            *error = r->metrics->lastError;
            return false;
        }
        deliver(*r, rows);
        return true;
    }
    *error = QString("no rule named '%1'").arg(name);
    return false;
}

std::shared_ptr<StoreDatabase> RuleEngine::storeDatabase(const QString &path)
{
    const QString p = path.isEmpty() ? m_storePath : path;
    auto &db = m_stores[p];
    if (!db)
        db = std::make_shared<StoreDatabase>(p);
    return db;
}

} // namespace ferry::rules
