using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Orchestrator.Cli.Console;

/// <summary>
/// The terminal on standard input in raw mode (keys go through one by one, nothing is echoed locally), and its bytes.
/// Both are done in this process: .NET re-applies its own terminal settings whenever a child process such as stty
/// exits, and .NET's console stream on a terminal reads whole edited lines, so neither stty nor
/// <see cref="System.Console.OpenStandardInput()"/> can carry a raw terminal.
/// </summary>
internal static partial class RawTerminal
{
    // struct termios is 60 bytes on Linux and 72 on macOS; the calls fill and read it as an opaque block.
    private const int TermiosBytes = 256;
    private const int StandardInput = 0;
    private const int SetNow = 0;

    /// <summary>Raw mode on; returns the settings to restore, or null when standard input is not a terminal.</summary>
    public static byte[]? Enter()
    {
        if (OperatingSystem.IsWindows() || isatty(StandardInput) != 1)
        {
            return null;
        }

        var saved = new byte[TermiosBytes];
        if (tcgetattr(StandardInput, ref saved[0]) != 0)
        {
            return null;
        }

        var raw = (byte[])saved.Clone();
        cfmakeraw(ref raw[0]);
        return tcsetattr(StandardInput, SetNow, ref raw[0]) == 0 ? saved : null;
    }

    /// <summary>Puts back what <see cref="Enter"/> saved.</summary>
    public static void Restore(byte[]? saved)
    {
        if (saved is not null)
        {
            _ = tcsetattr(StandardInput, SetNow, ref saved[0]);
        }
    }

    /// <summary>Standard input's bytes as they come, without .NET's line editing.</summary>
    public static Stream OpenInput() =>
        OperatingSystem.IsWindows()
            ? System.Console.OpenStandardInput()
            : new FileStream(new SafeFileHandle(StandardInput, ownsHandle: false), FileAccess.Read, bufferSize: 0);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int isatty(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcgetattr(int fd, ref byte termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcsetattr(int fd, int optionalActions, ref byte termios);

    [LibraryImport("libc")]
    private static partial void cfmakeraw(ref byte termios);
}
