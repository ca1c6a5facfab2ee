using System.Globalization;
using System.Text;

namespace Orchestrator.Workflows.Expressions;

/// <summary>
/// A recursive-descent parser for the expression language. Precedence, loosest first:
/// <c>||</c>, <c>&amp;&amp;</c>, <c>== !=</c>, <c>&lt; &lt;= &gt; &gt;=</c>, <c>!</c>, primary.
/// Nothing is looked up by name at run time except the fixed functions in <see cref="ExpressionFunctions"/>.
/// </summary>
public sealed class ExpressionParser
{
    private readonly string _text;
    // Parentheses and '!' recurse; a bound keeps a hostile condition from exhausting the stack.
    private const int MaxDepth = 64;

    private readonly List<Token> _tokens;
    private int _next;
    private int _depth;

    private ExpressionParser(string text, int start, int end)
    {
        _text = text;
        _tokens = Tokenize(text, start, end);
    }

    /// <summary>Parses a whole expression such as an <c>if</c>.</summary>
    /// <exception cref="ExpressionSyntaxException">The text is not a valid expression.</exception>
    public static Expression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new ExpressionParser(text, 0, text.Length);
        var expression = parser.ParseOr();
        parser.ExpectEnd();
        return expression;
    }

    /// <summary>Parses the inside of <c>${{ ... }}</c>: an expression optionally followed by <c>| filter</c>.</summary>
    internal static (Expression Expression, string? Filter) ParseInterpolation(string text, int start, int end)
    {
        var parser = new ExpressionParser(text, start, end);
        if (parser.Peek.Kind == TokenKind.End)
        {
            throw new ExpressionSyntaxException("The template '${{ }}' is empty; put a reference such as inputs.name inside it.", start);
        }

        var expression = parser.ParseOr();
        string? filter = null;
        if (parser.Peek.Kind == TokenKind.Pipe)
        {
            parser._next++;
            var name = parser.Expect(TokenKind.Identifier, "a filter name after '|' (raw)");
            filter = name.Text;
        }

        parser.ExpectEnd();
        return (expression, filter);
    }

    private Token Peek => _tokens[_next];

    private Expression ParseOr()
    {
        var left = ParseAnd();
        while (Peek.Kind == TokenKind.Or)
        {
            var position = _tokens[_next++].Position;
            left = new BinaryExpression(BinaryOperator.Or, left, ParseAnd(), position);
        }

        return left;
    }

    private Expression ParseAnd()
    {
        var left = ParseEquality();
        while (Peek.Kind == TokenKind.And)
        {
            var position = _tokens[_next++].Position;
            left = new BinaryExpression(BinaryOperator.And, left, ParseEquality(), position);
        }

        return left;
    }

    private Expression ParseEquality()
    {
        var left = ParseComparison();
        while (Peek.Kind is TokenKind.Equal or TokenKind.NotEqual)
        {
            var token = _tokens[_next++];
            var op = token.Kind == TokenKind.Equal ? BinaryOperator.Equal : BinaryOperator.NotEqual;
            left = new BinaryExpression(op, left, ParseComparison(), token.Position);
        }

        return left;
    }

    private Expression ParseComparison()
    {
        var left = ParseUnary();
        while (Peek.Kind is TokenKind.Less or TokenKind.LessOrEqual or TokenKind.Greater or TokenKind.GreaterOrEqual)
        {
            var token = _tokens[_next++];
            var op = token.Kind switch
            {
                TokenKind.Less => BinaryOperator.Less,
                TokenKind.LessOrEqual => BinaryOperator.LessOrEqual,
                TokenKind.Greater => BinaryOperator.Greater,
                _ => BinaryOperator.GreaterOrEqual,
            };
            left = new BinaryExpression(op, left, ParseUnary(), token.Position);
        }

        return left;
    }

    private Expression ParseUnary()
    {
        if (++_depth > MaxDepth)
        {
            throw new ExpressionSyntaxException($"The expression nests deeper than {MaxDepth} levels of '(' and '!'.", Peek.Position);
        }

        try
        {
            if (Peek.Kind == TokenKind.Not)
            {
                var position = _tokens[_next++].Position;
                return new NotExpression(ParseUnary(), position);
            }

            return ParsePrimary();
        }
        finally
        {
            _depth--;
        }
    }

    private Expression ParsePrimary()
    {
        var token = _tokens[_next];
        switch (token.Kind)
        {
            case TokenKind.Number:
                _next++;
                return new LiteralExpression(new NumberValue(decimal.Parse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture)), token.Position);
            case TokenKind.String:
                _next++;
                return new LiteralExpression(new StringValue(token.Text), token.Position);
            case TokenKind.LeftParen:
                _next++;
                var inner = ParseOr();
                Expect(TokenKind.RightParen, "')' to close the '(' at position " + (token.Position + 1).ToString(CultureInfo.InvariantCulture));
                return inner;
            case TokenKind.Identifier:
                _next++;
                switch (token.Text)
                {
                    case "true":
                        return new LiteralExpression(WorkflowValue.True, token.Position);
                    case "false":
                        return new LiteralExpression(WorkflowValue.False, token.Position);
                    case "null":
                        return new LiteralExpression(WorkflowValue.Null, token.Position);
                }

                if (Peek.Kind == TokenKind.LeftParen)
                {
                    return ParseCall(token);
                }

                var segments = new List<string> { token.Text };
                while (Peek.Kind == TokenKind.Dot)
                {
                    _next++;
                    segments.Add(Expect(TokenKind.Identifier, "a name after '.'").Text);
                }

                if (Peek.Kind == TokenKind.LeftParen)
                {
                    throw new ExpressionSyntaxException(
                        $"'{string.Join('.', segments)}' cannot be called; the functions are {string.Join(", ", ExpressionFunctions.Names.Select(static k => k + "()"))}.",
                        token.Position,
                        WorkflowErrorCodes.UnknownFunction);
                }

                return new ReferenceExpression(new ValueList<string>(segments), token.Position);
            default:
                throw Unexpected(token, "a value: a reference such as inputs.name, a 'string', a number, true, false, null, a function call or '('");
        }
    }

    private CallExpression ParseCall(Token name)
    {
        if (!ExpressionFunctions.Arity.TryGetValue(name.Text, out var arity))
        {
            throw new ExpressionSyntaxException(
                $"Unknown function '{name.Text}'; the functions are {string.Join(", ", ExpressionFunctions.Names.Select(static k => k + "()"))}.",
                name.Position,
                WorkflowErrorCodes.UnknownFunction);
        }

        _next++; // (
        var arguments = new List<Expression>();
        if (Peek.Kind != TokenKind.RightParen)
        {
            arguments.Add(ParseOr());
            while (Peek.Kind == TokenKind.Comma)
            {
                _next++;
                arguments.Add(ParseOr());
            }
        }

        Expect(TokenKind.RightParen, $"')' to close the call of {name.Text}()");
        if (arguments.Count != arity)
        {
            throw new ExpressionSyntaxException(
                $"{name.Text}() takes {arity} argument{(arity == 1 ? "" : "s")}, not {arguments.Count}.", name.Position);
        }

        return new CallExpression(name.Text, new ValueList<Expression>(arguments), name.Position);
    }

    private Token Expect(TokenKind kind, string expected)
    {
        var token = _tokens[_next];
        if (token.Kind != kind)
        {
            throw Unexpected(token, expected);
        }

        _next++;
        return token;
    }

    private void ExpectEnd()
    {
        if (Peek.Kind != TokenKind.End)
        {
            throw Unexpected(Peek, "an operator (== != < <= > >= && ||) or the end of the expression");
        }
    }

    private ExpressionSyntaxException Unexpected(Token token, string expected) =>
        new(
            token.Kind == TokenKind.End
                ? $"The expression ends too early; expected {expected}."
                : $"Unexpected '{_text.Substring(token.Position, token.Length)}' at position {token.Position + 1}; expected {expected}.",
            token.Position);

    private static List<Token> Tokenize(string text, int start, int end)
    {
        var tokens = new List<Token>();
        var i = start;
        while (i < end)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            var two = i + 1 < end ? text.Substring(i, 2) : "";
            var kind = two switch
            {
                "==" => TokenKind.Equal,
                "!=" => TokenKind.NotEqual,
                "<=" => TokenKind.LessOrEqual,
                ">=" => TokenKind.GreaterOrEqual,
                "&&" => TokenKind.And,
                "||" => TokenKind.Or,
                _ => TokenKind.End,
            };
            if (kind != TokenKind.End)
            {
                tokens.Add(new Token(kind, two, i, 2));
                i += 2;
                continue;
            }

            kind = c switch
            {
                '<' => TokenKind.Less,
                '>' => TokenKind.Greater,
                '!' => TokenKind.Not,
                '(' => TokenKind.LeftParen,
                ')' => TokenKind.RightParen,
                ',' => TokenKind.Comma,
                '.' => TokenKind.Dot,
                '|' => TokenKind.Pipe,
                _ => TokenKind.End,
            };
            if (kind != TokenKind.End)
            {
                tokens.Add(new Token(kind, c.ToString(), i, 1));
                i++;
            }
            else if (c is '\'' or '"')
            {
                tokens.Add(ReadString(text, i, end));
                i += tokens[^1].Length;
            }
            else if (char.IsAsciiDigit(c) || (c == '-' && i + 1 < end && char.IsAsciiDigit(text[i + 1])))
            {
                var from = i++;
                while (i < end && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
                {
                    i++;
                }

                var number = text[from..i];
                if (!decimal.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
                {
                    throw new ExpressionSyntaxException($"'{number}' at position {from + 1} is not a number.", from);
                }

                tokens.Add(new Token(TokenKind.Number, number, from, i - from));
            }
            else if (char.IsAsciiLetter(c) || c == '_')
            {
                var from = i++;
                // Dashes are allowed inside names because step ids like build-app are common; there is no minus operator.
                while (i < end && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '-'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, text[from..i], from, i - from));
            }
            else
            {
                throw new ExpressionSyntaxException($"Unexpected character '{c}' at position {i + 1}.", i);
            }
        }

        tokens.Add(new Token(TokenKind.End, "", end, 0));
        return tokens;
    }

    private static Token ReadString(string text, int start, int end)
    {
        var quote = text[start];
        var builder = new StringBuilder();
        var i = start + 1;
        while (i < end)
        {
            var c = text[i];
            if (c == quote)
            {
                // 'it''s' style doubling for single quotes, as in GitHub Actions expressions.
                if (quote == '\'' && i + 1 < end && text[i + 1] == '\'')
                {
                    builder.Append('\'');
                    i += 2;
                    continue;
                }

                return new Token(TokenKind.String, builder.ToString(), start, i + 1 - start);
            }

            if (quote == '"' && c == '\\' && i + 1 < end)
            {
                builder.Append(text[i + 1]);
                i += 2;
                continue;
            }

            builder.Append(c);
            i++;
        }

        throw new ExpressionSyntaxException($"The string starting at position {start + 1} is never closed; add a closing {quote}.", start);
    }

    private enum TokenKind
    {
        End = 0,
        Identifier = 1,
        Number = 2,
        String = 3,
        Equal = 4,
        NotEqual = 5,
        Less = 6,
        LessOrEqual = 7,
        Greater = 8,
        GreaterOrEqual = 9,
        And = 10,
        Or = 11,
        Not = 12,
        LeftParen = 13,
        RightParen = 14,
        Comma = 15,
        Dot = 16,
        Pipe = 17,
    }

    private readonly record struct Token(TokenKind Kind, string Text, int Position, int Length);
}
