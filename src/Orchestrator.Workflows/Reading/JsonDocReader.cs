using System.Text;
using System.Text.Json;

namespace Orchestrator.Workflows.Reading;

/// <summary>
/// Reads JSON with <see cref="Utf8JsonReader"/>, turning each token's byte offset into a line and a
/// character column, so JSON definitions get the same located errors as YAML ones.
/// </summary>
internal sealed class JsonDocReader
{
    private readonly byte[] _utf8;
    private readonly List<int> _lineStarts = [0];
    private readonly ErrorSink _errors;

    private JsonDocReader(string text, ErrorSink errors)
    {
        _utf8 = Encoding.UTF8.GetBytes(text);
        _errors = errors;
        for (var i = 0; i < _utf8.Length; i++)
        {
            if (_utf8[i] == (byte)'\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    public static DocNode? Read(string text, ErrorSink errors) => new JsonDocReader(text, errors).Read();

    private DocNode? Read()
    {
        var reader = new Utf8JsonReader(_utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 128 });
        try
        {
            if (!reader.Read())
            {
                _errors.Add(WorkflowErrorCodes.MissingField, "", new SourceLocation(1, 1), "The document is empty; expected an object with 'name' and 'steps'.");
                return null;
            }

            var root = ReadValue(ref reader);
            if (reader.Read())
            {
                _errors.Add(WorkflowErrorCodes.JsonSyntax, "", LocationOf(reader.TokenStartIndex), "Unexpected text after the end of the JSON document.");
            }

            return root;
        }
        catch (JsonException exception)
        {
            var line = (int)(exception.LineNumber ?? 0) + 1;
            var lineStart = _lineStarts[Math.Min(line - 1, _lineStarts.Count - 1)];
            var bytes = (int)Math.Min(exception.BytePositionInLine ?? 0, _utf8.Length - lineStart);
            var column = Encoding.UTF8.GetCharCount(_utf8, lineStart, Math.Max(bytes, 0)) + 1;
            var message = exception.Message;
            var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut < 0)
            {
                cut = message.IndexOf(" Path:", StringComparison.Ordinal);
            }

            // The runtime's advice to change reader options is meant for programmers, not for authors.
            var reason = (cut > 0 ? message[..cut] : message).Replace(" Change the reader options.", "", StringComparison.Ordinal).TrimEnd('.');
            _errors.Add(WorkflowErrorCodes.JsonSyntax, "", new SourceLocation(line, column), $"JSON syntax error: {reason}.");
            return null;
        }
        catch (InvalidOperationException)
        {
            // The reader accepts any \uXXXX escape; only turning a string into text finds a lone surrogate.
            _errors.Add(WorkflowErrorCodes.JsonSyntax, "", LocationOf(reader.TokenStartIndex), "JSON syntax error: a string holds an invalid \\u escape (a lone UTF-16 surrogate).");
            return null;
        }
    }

    private DocNode ReadValue(ref Utf8JsonReader reader)
    {
        var location = LocationOf(reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var entries = new List<KeyValuePair<DocScalar, DocNode>>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var name = reader.GetString()!;
                    var key = new DocScalar(name, new StringValue(name), LocationOf(reader.TokenStartIndex));
                    reader.Read();
                    entries.Add(KeyValuePair.Create(key, ReadValue(ref reader)));
                }

                return new DocMapping(entries, location);
            case JsonTokenType.StartArray:
                var items = new List<DocNode>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    items.Add(ReadValue(ref reader));
                }

                return new DocSequence(items, location);
            case JsonTokenType.String:
                var text = reader.GetString()!;
                return new DocScalar(text, new StringValue(text), location);
            case JsonTokenType.Number:
                var raw = Encoding.UTF8.GetString(reader.ValueSpan);
                if (reader.TryGetDecimal(out var number))
                {
                    return new DocScalar(raw, new NumberValue(number), location);
                }

                _errors.Add(WorkflowErrorCodes.JsonSyntax, "", location, $"The number {raw} is out of range; numbers must fit a decimal (about 28 digits).");
                return new DocScalar(raw, WorkflowValue.Null, location);
            case JsonTokenType.True:
                return new DocScalar("true", WorkflowValue.True, location);
            case JsonTokenType.False:
                return new DocScalar("false", WorkflowValue.False, location);
            default:
                return new DocScalar("null", WorkflowValue.Null, location);
        }
    }

    private SourceLocation LocationOf(long byteOffset)
    {
        var offset = (int)byteOffset;
        var index = _lineStarts.BinarySearch(offset);
        var line = index >= 0 ? index : ~index - 1;
        var column = Encoding.UTF8.GetCharCount(_utf8, _lineStarts[line], offset - _lineStarts[line]) + 1;
        return new SourceLocation(line + 1, column);
    }
}
