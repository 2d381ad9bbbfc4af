#include "rules/Lexer.h"

namespace ferry::rules {

namespace {

bool isIdentStart(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c & 0x80);
}
bool isIdentChar(char c)
{
    return isIdentStart(c) || (c >= '0' && c <= '9');
}
bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

Token error(int offset, const char *message)
{
    Token t;
    t.kind = TokenKind::Error;
    t.offset = offset;
    t.text = message;
    return t;
}

// A quoted string; the quote doubles or is backslash-escaped inside ('it''s', 'it\'s').
Token lexString(const QByteArray &s, int &i)
{
    const char quote = s[i];
    const int start = i++;
    Token t;
    t.kind = TokenKind::String;
    t.offset = start;
    while (i < s.size()) {
        const char c = s[i];
        if (c == quote) {
            if (i + 1 < s.size() && s[i + 1] == quote) {
                t.text += quote;
                i += 2;
                continue;
            }
            ++i;
            return t;
        }
        // \' \" \\ \n \t \r are escapes; any other backslash is kept, so that
        // regular expressions such as '\d+' read as written.
        if (c == '\\' && i + 1 < s.size() && QByteArray("'\"\\ntr").contains(s[i + 1])) {
            const char n = s[i + 1];
            t.text += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
            i += 2;
            continue;
        }
        t.text += c;
        ++i;
    }
    return error(start, "unterminated string");
}

Token lexNumber(const QByteArray &s, int &i)
{
    const int start = i;
    bool isFloat = false;
    while (i < s.size() && isDigit(s[i]))
        ++i;
    if (i + 1 < s.size() && s[i] == '.' && isDigit(s[i + 1])) {
        isFloat = true;
        ++i;
        while (i < s.size() && isDigit(s[i]))
            ++i;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        int j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-'))
            ++j;
        if (j < s.size() && isDigit(s[j])) {
            isFloat = true;
            i = j;
            while (i < s.size() && isDigit(s[i]))
                ++i;
        }
    }
    Token t;
    t.offset = start;
    t.text = s.mid(start, i - start);
    // A duration is an integer glued to a unit: 10s, 500ms, 5m, 1h.
    if (!isFloat && i < s.size() && isIdentStart(s[i])) {
        int j = i;
        while (j < s.size() && isIdentChar(s[j]))
            ++j;
        const QByteArray unit = s.mid(i, j - i).toLower();
        const qint64 n = t.text.toLongLong();
        qint64 scale = unit == "ms"  ? 1
                       : unit == "s" ? 1000
                       : unit == "m" ? 60000
                       : unit == "h" ? 3600000
                                     : 0;
        if (scale == 0)
            return error(i, "unknown duration unit (expected ms, s, m or h)");
        t.kind = TokenKind::Duration;
        t.intValue = n * scale;
        t.text = s.mid(start, j - start);
        i = j;
        return t;
    }
    bool ok = false;
    if (isFloat) {
        t.kind = TokenKind::Float;
        t.floatValue = t.text.toDouble(&ok);
    } else {
        t.kind = TokenKind::Int;
        t.intValue = t.text.toLongLong(&ok);
    }
    if (!ok)
        return error(start, "number out of range");
    return t;
}

} // namespace

QList<Token> Lexer::tokenize(const QByteArray &s)
{
    QList<Token> out;
    int i = 0;
    while (true) {
        while (i < s.size()) {
            const char c = s[i];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                ++i;
            } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
                while (i < s.size() && s[i] != '\n')
                    ++i;
            } else {
                break;
            }
        }
        if (i >= s.size()) {
            Token end;
            end.offset = s.size();
            out.append(end);
            return out;
        }
        const char c = s[i];
        Token t;
        if (isIdentStart(c)) {
            const int start = i;
            while (i < s.size() && isIdentChar(s[i]))
                ++i;
            t.kind = TokenKind::Ident;
            t.offset = start;
            t.text = s.mid(start, i - start);
        } else if (isDigit(c)) {
            t = lexNumber(s, i);
        } else if (c == '\'' || c == '"') {
            t = lexString(s, i);
        } else {
            static const char *const two[] = {"!=", "<>", "<=", ">=", "=~"};
            t.kind = TokenKind::Punct;
            t.offset = i;
            for (const char *op : two) {
                if (i + 1 < s.size() && s[i] == op[0] && s[i + 1] == op[1]) {
                    t.text = op;
                    break;
                }
            }
            if (t.text.isEmpty()) {
                if (QByteArray(",.()[]*+-/=<>").contains(c))
                    t.text = QByteArray(1, c);
                else
                    t = error(i, "unexpected character");
            }
            i += t.text.size();
        }
        out.append(t);
        if (t.kind == TokenKind::Error)
            return out;
    }
}

} // namespace ferry::rules
