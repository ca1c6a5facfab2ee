using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Orchestrator.Workflows.Reading;

/// <summary>
/// Reads YAML at the parser-event level (not the deserializer) so that every node keeps its line
/// and column, and resolves plain scalars with the YAML 1.2 core schema.
/// </summary>
internal static partial class YamlDocReader
{
    // Same limit as the JSON reader: definitions are shallow, and the recursion below must not
    // let a hostile document exhaust the stack (a stack overflow cannot be caught).
    private const int MaxDepth = 128;

    // Aliases share nodes here, but everything after reading walks the tree as if each alias were a copy:
    // nine levels of nine aliases ("billion laughs") would be 387 million nodes. Definitions are a few
    // hundred nodes; no real one comes near this.
    private const long MaxExpandedNodes = 100_000;

    public static DocNode? Read(string text, ErrorSink errors)
    {
        var anchors = new Dictionary<string, (DocNode Node, long Size)>(StringComparer.Ordinal);
        var parser = new Parser(new StringReader(text));
        try
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                errors.Add(WorkflowErrorCodes.MissingField, "", new SourceLocation(1, 1), "The document is empty; expected a mapping with 'name' and 'steps'.");
                return null;
            }

            parser.Consume<DocumentStart>();
            var root = ReadNode(parser, anchors, errors, 1, out _);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                errors.Add(WorkflowErrorCodes.UnsupportedYaml, "", At(second.Start), "The text holds more than one YAML document ('---'); a definition is exactly one document.");
            }

            return root;
        }
        catch (YamlException exception)
        {
            errors.Add(WorkflowErrorCodes.YamlSyntax, "", At(exception.Start), $"YAML syntax error: {StripMarks(exception.Message)}.");
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this instead of a YamlException for some unfinished text, such as a
            // flow sequence still open at the end ("name: [a").
            var at = parser.Current is { } current ? At(current.End) : new SourceLocation(1, 1);
            errors.Add(WorkflowErrorCodes.YamlSyntax, "", at, "YAML syntax error: the text ends inside an unfinished construct, such as an unclosed '[', '{' or quote.");
            return null;
        }
    }

    /// <summary>Reads one node; <paramref name="size"/> is its node count with every alias counted as a copy.</summary>
    private static DocNode ReadNode(IParser parser, Dictionary<string, (DocNode Node, long Size)> anchors, ErrorSink errors, int depth, out long size)
    {
        if (depth > MaxDepth)
        {
            var current = parser.Current!;
            throw new YamlException(current.Start, current.End, $"The document nests deeper than {MaxDepth} levels");
        }

        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (anchors.TryGetValue(alias.Value.Value, out var target))
            {
                size = target.Size;
                return target.Node;
            }

            // YamlDotNet already rejects unknown aliases; this keeps the tree total if it ever stops doing so.
            errors.Add(WorkflowErrorCodes.YamlSyntax, "", At(alias.Start), $"The alias '*{alias.Value.Value}' refers to no anchor defined before it.");
            size = 1;
            return new DocScalar("", WorkflowValue.Null, At(alias.Start));
        }

        size = 1;

        DocNode node;
        string anchor;
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            node = new DocScalar(scalar.Value, Resolve(scalar), At(scalar.Start));
            anchor = scalar.Anchor.IsEmpty ? "" : scalar.Anchor.Value;
        }
        else if (parser.TryConsume<MappingStart>(out var mappingStart))
        {
            var entries = new List<KeyValuePair<DocScalar, DocNode>>();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = ReadNode(parser, anchors, errors, depth + 1, out var keySize);
                var value = ReadNode(parser, anchors, errors, depth + 1, out var valueSize);
                size = Expand(size, keySize + valueSize, mappingStart.Start);
                if (key is DocScalar keyScalar)
                {
                    entries.Add(KeyValuePair.Create(keyScalar, value));
                }
                else
                {
                    errors.Add(WorkflowErrorCodes.UnsupportedYaml, "", key.Location, $"A mapping key must be a plain name, not {Article(key.KindName)}.");
                }
            }

            node = new DocMapping(entries, At(mappingStart.Start));
            anchor = mappingStart.Anchor.IsEmpty ? "" : mappingStart.Anchor.Value;
        }
        else
        {
            var sequenceStart = parser.Consume<SequenceStart>();
            var items = new List<DocNode>();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                items.Add(ReadNode(parser, anchors, errors, depth + 1, out var itemSize));
                size = Expand(size, itemSize, sequenceStart.Start);
            }

            node = new DocSequence(items, At(sequenceStart.Start));
            anchor = sequenceStart.Anchor.IsEmpty ? "" : sequenceStart.Anchor.Value;
        }

        if (anchor.Length > 0)
        {
            anchors[anchor] = (node, size);
        }

        return node;
    }

    private static long Expand(long size, long more, Mark at) =>
        size + more <= MaxExpandedNodes
            ? size + more
            : throw new YamlException(at, at, $"The document expands to more than {MaxExpandedNodes} nodes through its aliases");

    private static WorkflowValue Resolve(Scalar scalar)
    {
        if (scalar.Style != ScalarStyle.Plain || (!scalar.Tag.IsEmpty && scalar.Tag.Value == "tag:yaml.org,2002:str"))
        {
            return new StringValue(scalar.Value);
        }

        var text = scalar.Value;
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return WorkflowValue.Null;
            case "true" or "True" or "TRUE":
                return WorkflowValue.True;
            case "false" or "False" or "FALSE":
                return WorkflowValue.False;
        }

        if (NumberPattern().IsMatch(text)
            && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return new NumberValue(number);
        }

        return new StringValue(text);
    }

    internal static SourceLocation At(Mark mark) => new((int)mark.Line, (int)mark.Column);

    // YamlDotNet prefixes messages with "(Line: 1, Col: 2, Idx: 3) - (Line: ...): "; the location is reported separately.
    private static string StripMarks(string message) => MarkPrefix().Replace(message, "").TrimEnd('.');

    private static string Article(string kind) => kind == "object" ? "an object" : $"a {kind}";

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", RegexOptions.CultureInvariant)]
    private static partial Regex MarkPrefix();
}
