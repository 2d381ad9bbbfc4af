#include "rules/Builtins.h"

#include "rules/Json.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QRegularExpression>
#include <QTimeZone>
#include <QUuid>

#include <cmath>

namespace ferry::rules {

namespace {

// ---- argument helpers -------------------------------------------------------------------

QString typeName(const QVariant &v)
{
    switch (v.typeId()) {
    case QMetaType::UnknownType:
    case QMetaType::Nullptr:
        return "undefined";
    case QMetaType::Bool:
        return "boolean";
    case QMetaType::LongLong:
    case QMetaType::Double:
        return "number";
    case QMetaType::QByteArray:
        return "string";
    case QMetaType::QVariantList:
        return "array";
    case QMetaType::QVariantMap:
        return "map";
    default:
        return "value";
    }
}

bool isString(const QVariant &v)
{
    return v.typeId() == QMetaType::QByteArray;
}

QVariant fail(BuiltinContext &ctx, const char *fn, const QString &message)
{
    ctx.error = QString::fromLatin1(fn) + ": " + message;
    return QVariant();
}

// str() semantics for C++ built-ins (same as the prelude's).
QByteArray toText(const QVariant &v)
{
    switch (v.typeId()) {
    case QMetaType::QByteArray:
        return v.toByteArray();
    case QMetaType::LongLong:
        return QByteArray::number(v.toLongLong());
    case QMetaType::Double:
        return json::formatDouble(v.toDouble());
    case QMetaType::Bool:
        return v.toBool() ? "true" : "false";
    case QMetaType::QVariantList:
    case QMetaType::QVariantMap:
        return json::write(v);
    default:
        return "undefined";
    }
}

bool stringArg(const QVariantList &a, int i, const char *fn, BuiltinContext &ctx, QString *out)
{
    if (i >= a.size() || !isString(a[i])) {
        fail(ctx, fn,
             QString("argument %1 must be a string, got %2")
                 .arg(i + 1)
                 .arg(i < a.size() ? typeName(a[i]) : QString("nothing")));
        return false;
    }
    *out = QString::fromUtf8(a[i].toByteArray());
    return true;
}

bool bytesArg(const QVariantList &a, int i, const char *fn, BuiltinContext &ctx, QByteArray *out)
{
    if (i >= a.size() || !isString(a[i])) {
        fail(ctx, fn, QString("argument %1 must be a string").arg(i + 1));
        return false;
    }
    *out = a[i].toByteArray();
    return true;
}

bool intArg(const QVariantList &a, int i, const char *fn, BuiltinContext &ctx, qint64 *out)
{
    if (i < a.size() && a[i].typeId() == QMetaType::LongLong) {
        *out = a[i].toLongLong();
        return true;
    }
    if (i < a.size() && a[i].typeId() == QMetaType::Double) {
        const double d = a[i].toDouble();
        if (std::floor(d) == d && std::fabs(d) < 9e15) {
            *out = qint64(d);
            return true;
        }
    }
    fail(ctx, fn, QString("argument %1 must be an integer").arg(i + 1));
    return false;
}

QVariant text(const QString &s)
{
    return s.toUtf8();
}

bool tooLarge(qsizetype n, const char *fn, BuiltinContext &ctx)
{
    if (n <= kMaxBuiltinResult)
        return false;
    fail(ctx, fn, QString("result larger than %1 bytes").arg(kMaxBuiltinResult));
    return true;
}

// ---- strings ----------------------------------------------------------------------------

QVariant fnLower(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    return stringArg(a, 0, "lower", c, &s) ? text(s.toLower()) : QVariant();
}
QVariant fnUpper(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    return stringArg(a, 0, "upper", c, &s) ? text(s.toUpper()) : QVariant();
}
QVariant fnTrim(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    return stringArg(a, 0, "trim", c, &s) ? text(s.trimmed()) : QVariant();
}
QVariant fnLtrim(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    if (!stringArg(a, 0, "ltrim", c, &s))
        return QVariant();
    qsizetype i = 0;
    while (i < s.size() && s[i].isSpace())
        ++i;
    return text(s.mid(i));
}
QVariant fnRtrim(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    if (!stringArg(a, 0, "rtrim", c, &s))
        return QVariant();
    qsizetype n = s.size();
    while (n > 0 && s[n - 1].isSpace())
        --n;
    return text(s.left(n));
}
QVariant fnReverse(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    if (!stringArg(a, 0, "reverse", c, &s))
        return QVariant();
    const QList<uint> cps = s.toUcs4();
    QList<uint> rev(cps.rbegin(), cps.rend());
    return text(QString::fromUcs4(reinterpret_cast<const char32_t *>(rev.constData()), rev.size()));
}
QVariant fnStrlen(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    return stringArg(a, 0, "strlen", c, &s) ? QVariant::fromValue<qint64>(s.toUcs4().size())
                                            : QVariant();
}
// substr(str, start [, len]): start is 0-based, as in EMQX.
QVariant fnSubstr(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    qint64 start = 0, len = -1;
    if (!stringArg(a, 0, "substr", c, &s) || !intArg(a, 1, "substr", c, &start))
        return QVariant();
    if (a.size() > 2 && !intArg(a, 2, "substr", c, &len))
        return QVariant();
    if (start < 0 || (a.size() > 2 && len < 0))
        return fail(c, "substr", "start and length must not be negative");
    return text(s.mid(start, len));
}
QVariant fnConcat(const QVariantList &a, BuiltinContext &c)
{
    QByteArray out;
    for (const QVariant &v : a) {
        if (!v.isValid() || json::isNull(v))
            return fail(c, "concat", "argument is undefined");
        out += toText(v);
        if (tooLarge(out.size(), "concat", c))
            return QVariant();
    }
    return out;
}
QVariant list(const QStringList &parts)
{
    QVariantList l;
    for (const QString &p : parts)
        l.append(p.toUtf8());
    return l;
}
// split(str, sep [, 'notrim' | 'leading' | 'trailing']): empty parts are dropped unless notrim;
// leading/trailing split once at the first/last separator.
QVariant fnSplit(const QVariantList &a, BuiltinContext &c)
{
    QString s, sep, mode;
    if (!stringArg(a, 0, "split", c, &s) || !stringArg(a, 1, "split", c, &sep))
        return QVariant();
    if (a.size() > 2 && !stringArg(a, 2, "split", c, &mode))
        return QVariant();
    if (sep.isEmpty())
        return fail(c, "split", "separator must not be empty");
    if (mode == "leading" || mode == "trailing") {
        const qsizetype at = mode == "leading" ? s.indexOf(sep) : s.lastIndexOf(sep);
        if (at < 0)
            return list({s});
        return list({s.left(at), s.mid(at + sep.size())});
    }
    if (!mode.isEmpty() && mode != "notrim")
        return fail(c, "split", "option must be notrim, leading or trailing");
    return list(s.split(sep, mode == "notrim" ? Qt::KeepEmptyParts : Qt::SkipEmptyParts));
}
QVariant fnTokens(const QVariantList &a, BuiltinContext &c)
{
    QString s, seps;
    if (!stringArg(a, 0, "tokens", c, &s) || !stringArg(a, 1, "tokens", c, &seps))
        return QVariant();
    if (a.size() > 2) {
        QString opt;
        if (!stringArg(a, 2, "tokens", c, &opt))
            return QVariant();
        if (opt == "nocrlf")
            seps += "\r\n";
    }
    QStringList out;
    QString cur;
    for (QChar ch : s) {
        if (seps.contains(ch)) {
            if (!cur.isEmpty())
                out.append(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    if (!cur.isEmpty())
        out.append(cur);
    return list(out);
}
// replace(str, search, replacement [, 'all' | 'leading' | 'trailing']).
QVariant fnReplace(const QVariantList &a, BuiltinContext &c)
{
    QString s, from, to, mode = "all";
    if (!stringArg(a, 0, "replace", c, &s) || !stringArg(a, 1, "replace", c, &from) ||
        !stringArg(a, 2, "replace", c, &to))
        return QVariant();
    if (a.size() > 3 && !stringArg(a, 3, "replace", c, &mode))
        return QVariant();
    if (from.isEmpty())
        return text(s);
    if (mode == "all") {
        if (tooLarge(s.size() / from.size() * qMax<qsizetype>(to.size(), 1) + s.size(), "replace",
                     c))
            return QVariant();
        return text(s.replace(from, to));
    }
    const qsizetype at = mode == "leading" ? s.indexOf(from) : s.lastIndexOf(from);
    if (mode != "leading" && mode != "trailing")
        return fail(c, "replace", "option must be all, leading or trailing");
    if (at >= 0)
        s.replace(at, from.size(), to);
    return text(s);
}
bool regexArg(const QVariantList &a, int i, const char *fn, BuiltinContext &c,
              QRegularExpression *re)
{
    QString pattern;
    if (!stringArg(a, i, fn, c, &pattern))
        return false;
    // Rules use a handful of constant patterns; cache compiled ones (bounded).
    thread_local QHash<QString, QRegularExpression> cache;
    auto it = cache.constFind(pattern);
    if (it == cache.constEnd()) {
        QRegularExpression compiled(pattern);
        if (!compiled.isValid()) {
            fail(c, fn, "invalid regular expression: " + compiled.errorString());
            return false;
        }
        if (cache.size() > 256)
            cache.clear();
        it = cache.insert(pattern, compiled);
    }
    *re = *it;
    return true;
}
QVariant fnRegexMatch(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    QRegularExpression re;
    if (!stringArg(a, 0, "regex_match", c, &s) || !regexArg(a, 1, "regex_match", c, &re))
        return QVariant();
    return re.match(s).hasMatch();
}
QVariant fnRegexReplace(const QVariantList &a, BuiltinContext &c)
{
    QString s, to;
    QRegularExpression re;
    if (!stringArg(a, 0, "regex_replace", c, &s) || !regexArg(a, 1, "regex_replace", c, &re) ||
        !stringArg(a, 2, "regex_replace", c, &to))
        return QVariant();
    QString out = s.replace(re, to);
    if (tooLarge(out.size(), "regex_replace", c))
        return QVariant();
    return text(out);
}
// regex_extract(str, re): the capture groups of the first match (the whole match when the
// pattern has no groups); an empty array when nothing matches.
QVariant fnRegexExtract(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    QRegularExpression re;
    if (!stringArg(a, 0, "regex_extract", c, &s) || !regexArg(a, 1, "regex_extract", c, &re))
        return QVariant();
    const QRegularExpressionMatch m = re.match(s);
    QVariantList out;
    if (m.hasMatch()) {
        if (m.lastCapturedIndex() == 0)
            out.append(m.captured(0).toUtf8());
        for (int i = 1; i <= m.lastCapturedIndex(); ++i)
            out.append(m.captured(i).toUtf8());
    }
    return out;
}
// find(str, sub [, 'leading' | 'trailing']): the rest of str from the first (last) occurrence
// of sub, or '' when absent.
QVariant fnFind(const QVariantList &a, BuiltinContext &c)
{
    QString s, sub, mode = "leading";
    if (!stringArg(a, 0, "find", c, &s) || !stringArg(a, 1, "find", c, &sub))
        return QVariant();
    if (a.size() > 2 && !stringArg(a, 2, "find", c, &mode))
        return QVariant();
    const qsizetype at = mode == "trailing" ? s.lastIndexOf(sub) : s.indexOf(sub);
    return text(at < 0 ? QString() : s.mid(at));
}
// pad(str, len [, 'trailing' | 'leading' | 'both' [, char]]).
QVariant fnPad(const QVariantList &a, BuiltinContext &c)
{
    QString s, mode = "trailing", fill = " ";
    qint64 len = 0;
    if (!stringArg(a, 0, "pad", c, &s) || !intArg(a, 1, "pad", c, &len))
        return QVariant();
    if (a.size() > 2 && !stringArg(a, 2, "pad", c, &mode))
        return QVariant();
    if (a.size() > 3 && !stringArg(a, 3, "pad", c, &fill))
        return QVariant();
    if (len > kMaxBuiltinResult)
        return fail(c, "pad", QString("length larger than %1").arg(kMaxBuiltinResult));
    if (fill.size() != 1)
        return fail(c, "pad", "fill must be one character");
    const qsizetype missing = qMax<qsizetype>(0, len - s.size());
    if (mode == "trailing")
        return text(s + QString(missing, fill[0]));
    if (mode == "leading")
        return text(QString(missing, fill[0]) + s);
    if (mode == "both")
        return text(QString(missing / 2, fill[0]) + s + QString(missing - missing / 2, fill[0]));
    return fail(c, "pad", "option must be trailing, leading or both");
}
// sprintf(format, args...): Erlang io_lib style directives as in EMQX: ~s ~p ~w ~n ~~.
QVariant fnSprintf(const QVariantList &a, BuiltinContext &c)
{
    QByteArray fmt;
    if (!bytesArg(a, 0, "sprintf", c, &fmt))
        return QVariant();
    QByteArray out;
    int next = 1;
    for (qsizetype i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '~' || i + 1 >= fmt.size()) {
            out += fmt[i];
            continue;
        }
        const char d = fmt[++i];
        if (d == '~') {
            out += '~';
        } else if (d == 'n') {
            out += '\n';
        } else if (d == 's' || d == 'p' || d == 'w') {
            if (next >= a.size())
                return fail(c, "sprintf", "too few arguments for the format");
            const QVariant &v = a[next++];
            out += (d != 's' && isString(v)) ? json::write(v) : toText(v);
        } else {
            return fail(c, "sprintf", QString("unsupported directive ~%1").arg(QChar(d)));
        }
        if (tooLarge(out.size(), "sprintf", c))
            return QVariant();
    }
    return out;
}

// ---- encoding and hashing ---------------------------------------------------------------

QVariant fnJsonEncode(const QVariantList &a, BuiltinContext &c)
{
    QByteArray out = json::write(a.value(0));
    if (tooLarge(out.size(), "json_encode", c))
        return QVariant();
    return out;
}
QVariant fnBase64Encode(const QVariantList &a, BuiltinContext &c)
{
    QByteArray b;
    return bytesArg(a, 0, "base64_encode", c, &b) ? QVariant(b.toBase64()) : QVariant();
}
QVariant fnBase64Decode(const QVariantList &a, BuiltinContext &c)
{
    QByteArray b;
    if (!bytesArg(a, 0, "base64_decode", c, &b))
        return QVariant();
    auto r = QByteArray::fromBase64Encoding(b, QByteArray::AbortOnBase64DecodingErrors);
    if (!r)
        return fail(c, "base64_decode", "invalid base64");
    return *r;
}
QVariant fnBin2Hex(const QVariantList &a, BuiltinContext &c)
{
    QByteArray b;
    return bytesArg(a, 0, "bin2hexstr", c, &b) ? QVariant(b.toHex().toUpper()) : QVariant();
}
QVariant fnHex2Bin(const QVariantList &a, BuiltinContext &c)
{
    QByteArray b;
    if (!bytesArg(a, 0, "hexstr2bin", c, &b))
        return QVariant();
    if (b.size() % 2 != 0 || !QRegularExpression("^[0-9a-fA-F]*$").match(b).hasMatch())
        return fail(c, "hexstr2bin", "invalid hex string");
    return QByteArray::fromHex(b);
}
QVariant hashOf(const QVariantList &a, BuiltinContext &c, const char *fn,
                QCryptographicHash::Algorithm alg)
{
    if (a.isEmpty() || !a[0].isValid() || json::isNull(a[0]))
        return fail(c, fn, "argument is undefined");
    return QCryptographicHash::hash(toText(a[0]), alg).toHex();
}
QVariant fnMd5(const QVariantList &a, BuiltinContext &c)
{
    return hashOf(a, c, "md5", QCryptographicHash::Md5);
}
QVariant fnSha(const QVariantList &a, BuiltinContext &c)
{
    return hashOf(a, c, "sha", QCryptographicHash::Sha1);
}
QVariant fnSha256(const QVariantList &a, BuiltinContext &c)
{
    return hashOf(a, c, "sha256", QCryptographicHash::Sha256);
}
QVariant fnUuid(const QVariantList &, BuiltinContext &)
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces).toUtf8();
}

// ---- time (UTC; units second | millisecond | microsecond | nanosecond) -------------------

bool unitScale(const QVariantList &a, int i, const char *fn, BuiltinContext &c, qint64 *perSec)
{
    QString unit = "second";
    if (a.size() > i && !stringArg(a, i, fn, c, &unit))
        return false;
    if (unit == "second")
        *perSec = 1;
    else if (unit == "millisecond")
        *perSec = 1000;
    else if (unit == "microsecond")
        *perSec = 1000000;
    else if (unit == "nanosecond")
        *perSec = 1000000000;
    else {
        fail(c, fn, "unit must be second, millisecond, microsecond or nanosecond");
        return false;
    }
    return true;
}
qint64 msToUnit(qint64 ms, qint64 perSec)
{
    return perSec >= 1000 ? ms * (perSec / 1000) : ms / 1000;
}
QByteArray rfc3339(qint64 ms, qint64 perSec)
{
    const QDateTime t = QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC);
    return t.toString(perSec == 1 ? Qt::ISODate : Qt::ISODateWithMs).toUtf8();
}
QVariant fnNowTimestamp(const QVariantList &a, BuiltinContext &c)
{
    qint64 perSec = 1;
    if (!unitScale(a, 0, "now_timestamp", c, &perSec))
        return QVariant();
    return QVariant::fromValue<qint64>(msToUnit(c.nowMs(), perSec));
}
QVariant fnNowRfc3339(const QVariantList &a, BuiltinContext &c)
{
    qint64 perSec = 1;
    if (!unitScale(a, 0, "now_rfc3339", c, &perSec))
        return QVariant();
    return rfc3339(c.nowMs(), perSec);
}
QVariant fnUnixToRfc3339(const QVariantList &a, BuiltinContext &c)
{
    qint64 ts = 0, perSec = 1;
    if (!intArg(a, 0, "unix_ts_to_rfc3339", c, &ts) ||
        !unitScale(a, 1, "unix_ts_to_rfc3339", c, &perSec))
        return QVariant();
    const qint64 ms = perSec >= 1000 ? ts / (perSec / 1000) : ts * 1000;
    return rfc3339(ms, perSec);
}
QVariant fnRfc3339ToUnix(const QVariantList &a, BuiltinContext &c)
{
    QString s;
    qint64 perSec = 1;
    if (!stringArg(a, 0, "rfc3339_to_unix_ts", c, &s) ||
        !unitScale(a, 1, "rfc3339_to_unix_ts", c, &perSec))
        return QVariant();
    QDateTime t = QDateTime::fromString(s, Qt::ISODateWithMs);
    if (!t.isValid())
        t = QDateTime::fromString(s, Qt::ISODate);
    if (!t.isValid())
        return fail(c, "rfc3339_to_unix_ts", "not an RFC 3339 date: " + s);
    return QVariant::fromValue<qint64>(msToUnit(t.toMSecsSinceEpoch(), perSec));
}
// format_date(unit, offset, format [, ts]): strftime-like %Y %m %d %H %M %S %N(ms) %z %%;
// offset is "Z" or "+hh:mm"/"-hh:mm"; ts defaults to now.
QVariant fnFormatDate(const QVariantList &a, BuiltinContext &c)
{
    qint64 perSec = 1, ts = 0;
    QString offset, fmt;
    if (!unitScale(a, 0, "format_date", c, &perSec) ||
        !stringArg(a, 1, "format_date", c, &offset) || !stringArg(a, 2, "format_date", c, &fmt))
        return QVariant();
    qint64 ms = c.nowMs();
    if (a.size() > 3) {
        if (!intArg(a, 3, "format_date", c, &ts))
            return QVariant();
        ms = perSec >= 1000 ? ts / (perSec / 1000) : ts * 1000;
    }
    int offsetSecs = 0;
    if (offset != "Z" && !offset.isEmpty()) {
        static const QRegularExpression re("^([+-])(\\d\\d):(\\d\\d)$");
        const auto m = re.match(offset);
        if (!m.hasMatch())
            return fail(c, "format_date", "offset must be Z or +hh:mm");
        offsetSecs = (m.captured(2).toInt() * 3600 + m.captured(3).toInt() * 60) *
                     (m.captured(1) == "-" ? -1 : 1);
    }
    const QDateTime t = QDateTime::fromMSecsSinceEpoch(ms, Qt::OffsetFromUTC, offsetSecs);
    QString out;
    for (qsizetype i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%' || i + 1 >= fmt.size()) {
            out += fmt[i];
            continue;
        }
        switch (fmt[++i].toLatin1()) {
        case 'Y':
            out += t.toString("yyyy");
            break;
        case 'm':
            out += t.toString("MM");
            break;
        case 'd':
            out += t.toString("dd");
            break;
        case 'H':
            out += t.toString("HH");
            break;
        case 'M':
            out += t.toString("mm");
            break;
        case 'S':
            out += t.toString("ss");
            break;
        case 'N':
            out += t.toString("zzz");
            break;
        case 'z':
            out += offset.isEmpty() || offset == "Z" ? QString("+00:00") : offset;
            break;
        case '%':
            out += '%';
            break;
        default:
            return fail(c, "format_date", QString("unsupported directive %") + fmt[i]);
        }
    }
    return text(out);
}

const BuiltinInfo kBuiltins[] = {
    // math (prelude)
    {"abs", 1, 1, nullptr},
    {"ceil", 1, 1, nullptr},
    {"floor", 1, 1, nullptr},
    {"round", 1, 2, nullptr},
    {"sqrt", 1, 1, nullptr},
    {"power", 2, 2, nullptr},
    {"exp", 1, 1, nullptr},
    {"log", 1, 1, nullptr},
    {"log10", 1, 1, nullptr},
    {"log2", 1, 1, nullptr},
    {"fmod", 2, 2, nullptr},
    {"sin", 1, 1, nullptr},
    {"cos", 1, 1, nullptr},
    {"tan", 1, 1, nullptr},
    {"asin", 1, 1, nullptr},
    {"acos", 1, 1, nullptr},
    {"atan", 1, 1, nullptr},
    {"sinh", 1, 1, nullptr},
    {"cosh", 1, 1, nullptr},
    {"tanh", 1, 1, nullptr},
    {"pi", 0, 0, nullptr},
    {"random", 0, 0, nullptr},
    // bits
    {"bitand", 2, 2, nullptr},
    {"bitor", 2, 2, nullptr},
    {"bitxor", 2, 2, nullptr},
    {"bitnot", 1, 1, nullptr},
    {"bitsl", 2, 2, nullptr},
    {"bitsr", 2, 2, nullptr},
    // conversion and tests
    {"str", 1, 1, nullptr},
    {"int", 1, 1, nullptr},
    {"float", 1, 1, nullptr},
    {"bool", 1, 1, nullptr},
    {"is_null", 1, 1, nullptr},
    {"is_not_null", 1, 1, nullptr},
    {"is_str", 1, 1, nullptr},
    {"is_num", 1, 1, nullptr},
    {"is_int", 1, 1, nullptr},
    {"is_float", 1, 1, nullptr},
    {"is_bool", 1, 1, nullptr},
    {"is_map", 1, 1, nullptr},
    {"is_array", 1, 1, nullptr},
    // strings (C++)
    {"lower", 1, 1, fnLower},
    {"upper", 1, 1, fnUpper},
    {"trim", 1, 1, fnTrim},
    {"ltrim", 1, 1, fnLtrim},
    {"rtrim", 1, 1, fnRtrim},
    {"reverse", 1, 1, fnReverse},
    {"strlen", 1, 1, fnStrlen},
    {"substr", 2, 3, fnSubstr},
    {"concat", 1, -1, fnConcat},
    {"split", 2, 3, fnSplit},
    {"tokens", 2, 3, fnTokens},
    {"replace", 3, 4, fnReplace},
    {"regex_match", 2, 2, fnRegexMatch},
    {"regex_replace", 3, 3, fnRegexReplace},
    {"regex_extract", 2, 2, fnRegexExtract},
    {"find", 2, 3, fnFind},
    {"pad", 2, 4, fnPad},
    {"sprintf", 1, -1, fnSprintf},
    // maps and arrays (prelude)
    {"map_get", 2, 3, nullptr},
    {"map_put", 3, 3, nullptr},
    {"map_keys", 1, 1, nullptr},
    {"map_values", 1, 1, nullptr},
    {"nth", 2, 2, nullptr},
    {"length", 1, 1, nullptr},
    {"sublist", 2, 3, nullptr},
    {"first", 1, 1, nullptr},
    {"last", 1, 1, nullptr},
    {"contains", 2, 2, nullptr},
    // encoding and hashing
    {"json_encode", 1, 1, fnJsonEncode},
    {"json_decode", 1, 1, nullptr},
    {"base64_encode", 1, 1, fnBase64Encode},
    {"base64_decode", 1, 1, fnBase64Decode},
    {"bin2hexstr", 1, 1, fnBin2Hex},
    {"hexstr2bin", 1, 1, fnHex2Bin},
    {"md5", 1, 1, fnMd5},
    {"sha", 1, 1, fnSha},
    {"sha256", 1, 1, fnSha256},
    // time and ids
    {"now_timestamp", 0, 1, fnNowTimestamp},
    {"now_rfc3339", 0, 1, fnNowRfc3339},
    {"unix_ts_to_rfc3339", 1, 2, fnUnixToRfc3339},
    {"rfc3339_to_unix_ts", 1, 2, fnRfc3339ToUnix},
    {"format_date", 3, 4, fnFormatDate},
    {"uuid_v4", 0, 0, fnUuid},
};

} // namespace

const BuiltinInfo *findBuiltin(const QByteArray &name)
{
    for (const BuiltinInfo &b : kBuiltins)
        if (name == b.name)
            return &b;
    return nullptr;
}

const BuiltinInfo *builtinTable(int *count)
{
    *count = int(std::size(kBuiltins));
    return kBuiltins;
}

bool isAggregate(const QByteArray &name)
{
    return name == "avg" || name == "min" || name == "max" || name == "sum" || name == "count" ||
           name == "first" || name == "last";
}

} // namespace ferry::rules
