using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spectre.Console;

namespace Orchestrator.Cli.Console;

/// <summary>
/// Where a command writes: JSON for scripts (one document per answer, or one line per item for streams) or tables
/// for people. Tables, colour and live rendering only when stdout is a terminal (and colour not when NO_COLOR is set
/// or --no-color given), so piped output never carries escape codes.
/// </summary>
public sealed class Ui
{
    private readonly TextWriter _stdout = System.Console.Out;
    private readonly TextWriter _stderr = System.Console.Error;

    public Ui(bool json, bool noColor, bool stdoutIsTerminal, bool stderrIsTerminal)
    {
        Json = json;
        Interactive = stdoutIsTerminal && !json;
        StderrInteractive = stderrIsTerminal;
        Out = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = Interactive && !noColor ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = noColor || !Interactive ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = Interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(System.Console.Out),
        });
        Err = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = stderrIsTerminal && !noColor ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = noColor || !stderrIsTerminal ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = stderrIsTerminal ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(System.Console.Error),
        });
    }

    /// <summary>--output json.</summary>
    public bool Json { get; }

    /// <summary>Tables and live rendering on stdout.</summary>
    public bool Interactive { get; }

    /// <summary>Spinners and progress bars on stderr (kept off stdout so output stays pipeable).</summary>
    public bool StderrInteractive { get; }

    public IAnsiConsole Out { get; }

    public IAnsiConsole Err { get; }

    public void WriteJson<T>(T value, JsonTypeInfo<T> type, bool indented = true)
    {
        // Relaxed escaping: people read this too, and 'it\u0027s' helps no script.
        var options = new JsonSerializerOptions(type.Options) { WriteIndented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        _stdout.WriteLine(JsonSerializer.Serialize(value, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T))));
    }

    /// <summary>A table on a terminal; tab-separated lines with a header otherwise, for cut and awk.</summary>
    public void WriteTable(string[] headers, IEnumerable<string?[]> rows)
    {
        if (Interactive)
        {
            var table = new Table().Border(TableBorder.Simple);
            foreach (var header in headers)
            {
                table.AddColumn(new TableColumn(header.ToUpperInvariant()));
            }

            foreach (var row in rows)
            {
                table.AddRow(row.Select(static cell => Markup.Escape(cell ?? "-")).ToArray());
            }

            Out.Write(table);
            return;
        }

        _stdout.WriteLine(string.Join('\t', headers.Select(static h => h.ToUpperInvariant())));
        foreach (var row in rows)
        {
            _stdout.WriteLine(string.Join('\t', row.Select(static cell => cell ?? "-")));
        }
    }

    /// <summary>Field: value lines for one object.</summary>
    public void WriteFields(IEnumerable<(string Name, string? Value)> fields)
    {
        var list = fields.ToList();
        var width = list.Max(static f => f.Name.Length);
        foreach (var (name, value) in list)
        {
            _stdout.WriteLine($"{name.PadRight(width)}  {value ?? "-"}");
        }
    }

    /// <summary>A line for people on stderr (progress, notices); never on stdout, which carries the answer.</summary>
    public void Note(string text) => _stderr.WriteLine(text);

    public void Line(string text) => _stdout.WriteLine(text);
}
