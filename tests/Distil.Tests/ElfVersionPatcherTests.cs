using System.Text;
using Distil.Native;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// The GLIBCXX patcher on a small ELF image built here byte by byte (sections .shstrtab, .dynstr, .dynsym,
/// .gnu.version, .gnu.version_r), read back with an independent little parser in the test.
/// </summary>
public class ElfVersionPatcherTests
{
    const int Ehdr = 64, Shdr = 64;

    /// <summary>An ELF64 LE image importing <paramref name="symbol"/> versioned <paramref name="version"/> from libstdc++.so.6.</summary>
    static byte[] BuildElf(string symbol = ElfVersionPatcher.MissingSymbol, string version = ElfVersionPatcher.MissingVersion)
    {
        // .dynstr: "\0libstdc++.so.6\0<version>\0GLIBCXX_3.4\0<symbol>\0"
        var dynstr = new List<byte> { 0 };
        int Add(string s) { int at = dynstr.Count; dynstr.AddRange(Encoding.ASCII.GetBytes(s)); dynstr.Add(0); return at; }
        int lib = Add("libstdc++.so.6"), ver = Add(version), ver2 = Add("GLIBCXX_3.4"), sym = Add(symbol), other = Add("_ZdlPv");

        var dynsym = new byte[24 * 3]; // null symbol, the target (undefined), another import
        BitConverter.GetBytes((uint)sym).CopyTo(dynsym, 24);
        dynsym[24 + 4] = 0x12; // STB_GLOBAL, STT_FUNC; st_shndx = 0 (undefined)
        BitConverter.GetBytes((uint)other).CopyTo(dynsym, 48);
        dynsym[48 + 4] = 0x12;

        var versym = new byte[6];
        BitConverter.GetBytes((ushort)3).CopyTo(versym, 2); // target -> GLIBCXX_3.4.32 (index 3)
        BitConverter.GetBytes((ushort)2).CopyTo(versym, 4); // other  -> GLIBCXX_3.4 (index 2)

        var verneed = new byte[16 + 2 * 16];
        BitConverter.GetBytes((ushort)1).CopyTo(verneed, 0);   // vn_version
        BitConverter.GetBytes((ushort)2).CopyTo(verneed, 2);   // vn_cnt
        BitConverter.GetBytes((uint)lib).CopyTo(verneed, 4);   // vn_file
        BitConverter.GetBytes(16u).CopyTo(verneed, 8);         // vn_aux
        BitConverter.GetBytes((uint)ver2).CopyTo(verneed, 16 + 8);  // aux 0: GLIBCXX_3.4
        BitConverter.GetBytes((ushort)2).CopyTo(verneed, 16 + 6);
        BitConverter.GetBytes(16u).CopyTo(verneed, 16 + 12);        // vna_next
        BitConverter.GetBytes((uint)ver).CopyTo(verneed, 32 + 8);   // aux 1: the missing version
        BitConverter.GetBytes((ushort)3).CopyTo(verneed, 32 + 6);

        var shstr = new List<byte> { 0 };
        int Name(string s) { int at = shstr.Count; shstr.AddRange(Encoding.ASCII.GetBytes(s)); shstr.Add(0); return at; }
        var sections = new (int Name, uint Type, byte[] Data, int EntSize)[]
        {
            (Name(".dynstr"), 3, dynstr.ToArray(), 0), (Name(".dynsym"), 11, dynsym, 24),
            (Name(".gnu.version"), 0x6fffffff, versym, 2), (Name(".gnu.version_r"), 0x6ffffffe, verneed, 0),
            (Name(".shstrtab"), 3, Array.Empty<byte>(), 0),
        };
        sections[^1].Data = shstr.ToArray();

        var image = new List<byte>(new byte[Ehdr]);
        var offsets = new int[sections.Length];
        for (int i = 0; i < sections.Length; i++) { offsets[i] = image.Count; image.AddRange(sections[i].Data); while (image.Count % 8 != 0) image.Add(0); }
        int shoff = image.Count;
        image.AddRange(new byte[Shdr]); // section 0: null
        for (int i = 0; i < sections.Length; i++)
        {
            var h = new byte[Shdr];
            BitConverter.GetBytes((uint)sections[i].Name).CopyTo(h, 0);
            BitConverter.GetBytes(sections[i].Type).CopyTo(h, 4);
            BitConverter.GetBytes((ulong)offsets[i]).CopyTo(h, 0x18);
            BitConverter.GetBytes((ulong)sections[i].Data.Length).CopyTo(h, 0x20);
            BitConverter.GetBytes((ulong)sections[i].EntSize).CopyTo(h, 0x38);
            image.AddRange(h);
        }
        var b = image.ToArray();
        new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1 }.CopyTo(b, 0);
        BitConverter.GetBytes((ushort)3).CopyTo(b, 0x10);   // ET_DYN
        BitConverter.GetBytes((ushort)62).CopyTo(b, 0x12);  // x86-64
        BitConverter.GetBytes((ulong)shoff).CopyTo(b, 0x28);
        BitConverter.GetBytes((ushort)Shdr).CopyTo(b, 0x3A);
        BitConverter.GetBytes((ushort)(sections.Length + 1)).CopyTo(b, 0x3C);
        BitConverter.GetBytes((ushort)sections.Length).CopyTo(b, 0x3E); // .shstrtab is the last section
        return b;
    }

    /// <summary>Offsets of the sections in the image built above (header i+1 describes section i).</summary>
    static int SectionOffset(byte[] elf, int index) =>
        (int)BitConverter.ToUInt64(elf, (int)BitConverter.ToUInt64(elf, 0x28) + (index + 1) * Shdr + 0x18);

    static string CString(byte[] b, int at) { int end = Array.IndexOf(b, (byte)0, at); return Encoding.ASCII.GetString(b, at, end - at); }

    [Fact]
    public void PatchRenamesTheSymbolUnversionsItAndWeakensTheRequirement()
    {
        var elf = BuildElf();
        Assert.True(ElfVersionPatcher.NeedsPatch(elf));
        Assert.Equal(ElfPatchResult.Patched, ElfVersionPatcher.Patch(elf));

        int dynstr = SectionOffset(elf, 0), dynsym = SectionOffset(elf, 1), versym = SectionOffset(elf, 2), verneed = SectionOffset(elf, 3);
        int nameAt = dynstr + (int)BitConverter.ToUInt32(elf, dynsym + 24);
        Assert.Equal(ElfVersionPatcher.ReplacementSymbol, CString(elf, nameAt));
        Assert.All(Enumerable.Range(nameAt + ElfVersionPatcher.ReplacementSymbol.Length, ElfVersionPatcher.MissingSymbol.Length - ElfVersionPatcher.ReplacementSymbol.Length),
            i => Assert.Equal(0, elf[i])); // padded with NULs
        Assert.Equal(1, BitConverter.ToUInt16(elf, versym + 2));  // unversioned
        Assert.Equal(2, BitConverter.ToUInt16(elf, versym + 4));  // the other import keeps its version
        Assert.Equal(2, BitConverter.ToUInt16(elf, verneed + 32 + 4) & 2); // VER_FLG_WEAK on GLIBCXX_3.4.32
        Assert.Equal(0, BitConverter.ToUInt16(elf, verneed + 16 + 4));     // GLIBCXX_3.4 untouched
        Assert.Equal("_ZdlPv", CString(elf, dynstr + (int)BitConverter.ToUInt32(elf, dynsym + 48)));

        Assert.False(ElfVersionPatcher.NeedsPatch(elf));
        var again = (byte[])elf.Clone();
        Assert.Equal(ElfPatchResult.AlreadyPatched, ElfVersionPatcher.Patch(again)); // idempotent
        Assert.Equal(elf, again);
    }

    [Fact]
    public void PatchFileIsIdempotentOnDisk()
    {
        string path = Path.Combine(TempDir.Scratch("elf"), "libLibTorchSharp.so");
        File.WriteAllBytes(path, BuildElf());
        Assert.Equal(ElfPatchResult.Patched, ElfVersionPatcher.PatchFile(path));
        var once = File.ReadAllBytes(path);
        Assert.Equal(ElfPatchResult.AlreadyPatched, ElfVersionPatcher.PatchFile(path));
        Assert.Equal(once, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temp file left
    }

    [Fact]
    public void RefusesAFileThatIsNotElf()
    {
        var e = Assert.Throws<ElfPatchException>(() => ElfVersionPatcher.Patch(Encoding.ASCII.GetBytes("#!/bin/sh\necho not a library\n")));
        Assert.Contains("not an ELF file", e.Message);
    }

    [Fact]
    public void RefusesAnElfWithoutTheSymbolOrTheVersion()
    {
        var noSymbol = Assert.Throws<ElfPatchException>(() => ElfVersionPatcher.Patch(BuildElf(symbol: "_ZNSt8ios_base4InitC1Ev")));
        Assert.Contains("no dynamic symbol", noSymbol.Message);
        var noVersion = Assert.Throws<ElfPatchException>(() => ElfVersionPatcher.Patch(BuildElf(version: "GLIBCXX_3.4.29")));
        Assert.Contains("no requirement on GLIBCXX_3.4.32", noVersion.Message);
    }

    [Fact]
    public void RefusesATruncatedElf()
    {
        var elf = BuildElf();
        Assert.Throws<ElfPatchException>(() => ElfVersionPatcher.Patch(elf[..(elf.Length - 100)]));
    }

    [Fact]
    public void DetectsTheVersionInALibStdCxxImage()
    {
        var lib = Encoding.ASCII.GetBytes("\0GLIBCXX_3.4.30\0GLIBCXX_3.4.31\0");
        Assert.True(ElfVersionPatcher.LibraryHasVersion(lib, "GLIBCXX_3.4.30"));
        Assert.False(ElfVersionPatcher.LibraryHasVersion(lib, "GLIBCXX_3.4.3"));   // a prefix is not a match
        Assert.False(ElfVersionPatcher.LibraryHasVersion(lib, "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void TheTorchSharpLibraryInTheBuildOutputIsPatchedOnlyWhereNeeded()
    {
        string lib = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        if (!File.Exists(lib)) return; // another platform: nothing to patch
        string? libstdcxx = ElfVersionPatcher.FindSystemLibStdCxx();
        bool systemIsNewEnough = libstdcxx != null && ElfVersionPatcher.LibraryHasVersion(File.ReadAllBytes(libstdcxx), ElfVersionPatcher.MissingVersion);
        // On an old libstdc++ the build patched the copy; either way the library needs nothing more on this machine.
        Assert.False(ElfVersionPatcher.IsPatchNeeded(lib, libstdcxx));
        if (!systemIsNewEnough) Assert.False(ElfVersionPatcher.NeedsPatch(File.ReadAllBytes(lib)));
    }
}
