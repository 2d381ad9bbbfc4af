#pragma once
// The syntax tree of one rule statement. Built by Parser, read by Codegen. Every node keeps the
// byte offset of its first token so that later errors (unknown function, misplaced aggregate)
// point into the SQL text too.

#include <QByteArray>
#include <QList>

#include <memory>
#include <vector>

namespace ferry::rules {

struct Expr;
using ExprPtr = std::shared_ptr<Expr>;

struct Expr {
    enum class Kind {
        Null,
        Bool,
        Int,
        Float,
        String,
        Field,  // name = root identifier; path = segments after it
        Unary,  // op: "-" or "not"; kids[0]
        Binary, // op: + - * / div mod = != < <= > >= =~ and or; kids[0], kids[1]
        In,     // kids[0] IN (kids[1..]); negated for NOT IN
        Case,   // kids: [subject?] when1, then1, when2, then2, ... [else]
        Call,   // name(kids...); star = count(*)
    };
    struct PathSegment {
        QByteArray key; // .key or .'key'
        ExprPtr index;  // [expr] (1-based), when set
    };

    Kind kind = Kind::Null;
    int offset = 0;
    QByteArray name; // Field root / Call function name (lower-cased) / String value
    QByteArray op;
    qint64 intValue = 0;
    double floatValue = 0;
    bool boolValue = false;
    bool negated = false;    // NOT IN
    bool hasSubject = false; // CASE x WHEN ...
    bool hasElse = false;
    bool star = false; // count(*)
    std::vector<PathSegment> path;
    std::vector<ExprPtr> kids;
};

struct SelectItem {
    bool star = false; // SELECT *
    ExprPtr expr;
    QByteArray alias; // empty: derived from the expression (last path key or text)
    int offset = 0;
};

struct FromItem {
    QByteArray filter;
    int offset = 0;
};

struct WindowSpec {
    enum class Kind { None, Tumbling, Hopping, Count };
    Kind kind = Kind::None;
    qint64 sizeMs = 0;
    qint64 hopMs = 0;
    qint64 count = 0;
    int offset = 0;
};

struct Statement {
    bool isForeach = false;
    ExprPtr foreachExpr;
    QByteArray foreachAlias;       // default "item"
    std::vector<SelectItem> items; // SELECT list, or FOREACH's DO list
    ExprPtr incase;
    std::vector<FromItem> from;
    ExprPtr where;
    std::vector<ExprPtr> groupBy;
    WindowSpec window;
};

} // namespace ferry::rules
