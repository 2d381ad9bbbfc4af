#pragma once
// One lexical token of the rule SQL dialect, with its byte offset in the SQL text.

#include <QByteArray>

namespace ferry::rules {

enum class TokenKind {
    End,
    Ident,    // bare word; keywords are idents compared case-insensitively by the parser
    Int,      // 42
    Float,    // 4.2, 1e3
    String,   // 'text' or "text" (text holds the unescaped value)
    Duration, // 10s, 500ms, 5m, 1h (intValue holds milliseconds)
    Punct,    // , . ( ) [ ] * + - / = != <> < <= > >= =~
    Error,    // text holds the message
};

struct Token {
    TokenKind kind = TokenKind::End;
    QByteArray text;
    int offset = 0;
    qint64 intValue = 0;
    double floatValue = 0;

    bool isPunct(const char *p) const { return kind == TokenKind::Punct && text == p; }
    bool isKeyword(const char *kw) const
    {
        return kind == TokenKind::Ident && text.compare(kw, Qt::CaseInsensitive) == 0;
    }
};

} // namespace ferry::rules
