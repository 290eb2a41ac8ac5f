// Makes TorchSharp's libLibTorchSharp.so load against an older libstdc++ (Debian 12, Ubuntu 22.04).
//
// TorchSharp 0.107.0 was built with GCC 13, whose <iostream> emits an undefined reference to
// `std::ios_base_library_init()` versioned GLIBCXX_3.4.32. GCC 12's libstdc++ (GLIBCXX_3.4.30) lacks that
// version, so the loader refuses the library. The symbol is a start-up hook that the library never calls.
// The patch, applied to a copy of the library:
//   (a) renames the undefined symbol in .dynstr to an existing no-argument libstdc++ function of shorter length;
//   (b) makes that symbol unversioned (.gnu.version entry = 1);
//   (c) marks the GLIBCXX_3.4.32 requirement in .gnu.version_r as weak (VER_FLG_WEAK), so its absence is allowed.
//
// This file is compiled into the library (for tests and tools) and, unchanged, into an MSBuild inline task
// (Directory.Build.targets) that patches the build output; so it uses nothing but the base class library.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Distil.Native
{
    /// <summary>What <see cref="ElfVersionPatcher.Patch"/> did.</summary>
    public enum ElfPatchResult { Patched, AlreadyPatched }

    public sealed class ElfPatchException : Exception
    {
        public ElfPatchException(string message) : base(message) { }
    }

    public static class ElfVersionPatcher
    {
        public const string MissingSymbol = "_ZSt21ios_base_library_initv";
        public const string ReplacementSymbol = "_ZSt15get_new_handlerv";
        public const string MissingVersion = "GLIBCXX_3.4.32";
        const ushort VerFlagWeak = 0x2;
        const ushort VersionIndexGlobal = 1;

        /// <summary>True when this libstdc++ (its bytes) defines the version string, e.g. "GLIBCXX_3.4.32".</summary>
        public static bool LibraryHasVersion(byte[] libstdcxx, string version)
        {
            byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
            for (int i = 0; i + needle.Length <= libstdcxx.Length; i++)
            {
                int k = 0;
                while (k < needle.Length && libstdcxx[i + k] == needle[k]) k++;
                if (k == needle.Length && (i == 0 || libstdcxx[i - 1] == 0)) return true;
            }
            return false;
        }

        /// <summary>Finds the system libstdc++.so.6, or null when none of the usual places holds one.</summary>
        public static string? FindSystemLibStdCxx()
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            };
            foreach (string c in candidates) if (File.Exists(c)) return c;
            return null;
        }

        /// <summary>True when the library requires the version and this machine's libstdc++ does not have it.</summary>
        public static bool IsPatchNeeded(string libraryPath, string? libstdcxxPath)
        {
            if (libstdcxxPath == null) return false;
            if (LibraryHasVersion(File.ReadAllBytes(libstdcxxPath), MissingVersion)) return false;
            return NeedsPatch(File.ReadAllBytes(libraryPath));
        }

        /// <summary>True when the ELF image still has a non-weak requirement on <see cref="MissingVersion"/>.</summary>
        public static bool NeedsPatch(byte[] elf)
        {
            var image = new ElfImage(elf);
            var aux = image.FindVernaux(MissingVersion);
            return aux.HasValue && (image.U16(aux.Value + 4) & VerFlagWeak) == 0;
        }

        /// <summary>Patches the file in place through a temporary copy and a rename (never a half-written file).</summary>
        public static ElfPatchResult PatchFile(string path)
        {
            byte[] bytes = File.ReadAllBytes(path);
            ElfPatchResult result = Patch(bytes);
            if (result == ElfPatchResult.AlreadyPatched) return result;
            string tmp = path + ".patch-tmp";
            File.WriteAllBytes(tmp, bytes);
            File.Replace(tmp, path, destinationBackupFileName: null); // rename(2): atomic, breaks any hard link
            return result;
        }

        /// <summary>Patches an ELF image in memory. Throws <see cref="ElfPatchException"/> on anything unexpected.</summary>
        public static ElfPatchResult Patch(byte[] elf)
        {
            var image = new ElfImage(elf);
            int? vernaux = image.FindVernaux(MissingVersion);
            if (vernaux == null)
                throw new ElfPatchException($"the library has no requirement on {MissingVersion}; nothing to patch");

            int symbol = image.FindDynamicSymbol(MissingSymbol);
            if (symbol < 0)
            {
                if (image.FindDynamicSymbol(ReplacementSymbol) >= 0 && (image.U16(vernaux.Value + 4) & VerFlagWeak) != 0)
                    return ElfPatchResult.AlreadyPatched;
                throw new ElfPatchException($"the library has no dynamic symbol {MissingSymbol}");
            }
            if (image.SymbolSectionIndex(symbol) != 0)
                throw new ElfPatchException($"{MissingSymbol} is defined in the library, not imported; refusing to patch");

            // (a) rename in place; the replacement is shorter, the tail is filled with NULs.
            int name = image.SymbolNameOffset(symbol);
            byte[] replacement = Encoding.ASCII.GetBytes(ReplacementSymbol);
            for (int i = 0; i < MissingSymbol.Length; i++)
                elf[name + i] = i < replacement.Length ? replacement[i] : (byte)0;
            // (b) unversioned.
            image.SetU16(image.VersymEntry(symbol), VersionIndexGlobal);
            // (c) weak version requirement.
            image.SetU16(vernaux.Value + 4, (ushort)(image.U16(vernaux.Value + 4) | VerFlagWeak));
            return ElfPatchResult.Patched;
        }

        /// <summary>A bounds-checked view of a 64-bit little-endian ELF image's dynamic-linking sections.</summary>
        sealed class ElfImage
        {
            readonly byte[] b;
            readonly Dictionary<string, (int Offset, int Size, int EntrySize, int Link)> sections = new();

            public ElfImage(byte[] bytes)
            {
                b = bytes;
                if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
                    throw new ElfPatchException("not an ELF file");
                if (b[4] != 2 || b[5] != 1)
                    throw new ElfPatchException("only 64-bit little-endian ELF files are supported");
                long shoff = (long)U64(0x28);
                int shentsize = U16(0x3A), shnum = U16(0x3C), shstrndx = U16(0x3E);
                if (shentsize != 64 || shnum == 0 || shstrndx >= shnum || shoff <= 0 || shoff + (long)shnum * 64 > b.Length)
                    throw new ElfPatchException("ELF section header table is missing or out of bounds");
                var raw = new (int NameOff, int Offset, int Size, int EntrySize, int Link)[shnum];
                for (int i = 0; i < shnum; i++)
                {
                    int h = checked((int)(shoff + i * 64L));
                    ulong off = U64(h + 0x18), size = U64(h + 0x20);
                    uint type = U32(h + 4);
                    const uint NoBits = 8;
                    if (type != NoBits && off + size > (ulong)b.Length)
                        throw new ElfPatchException($"ELF section {i} lies outside the file");
                    raw[i] = ((int)U32(h), (int)off, (int)size, (int)U64(h + 0x38), (int)U32(h + 0x28));
                }
                var strtab = raw[shstrndx];
                foreach (var s in raw)
                {
                    if (s.NameOff >= strtab.Size) continue;
                    sections[CString(strtab.Offset + s.NameOff)] = (s.Offset, s.Size, s.EntrySize, s.Link);
                }
                foreach (string need in new[] { ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_r" })
                    if (!sections.ContainsKey(need)) throw new ElfPatchException($"ELF file has no {need} section");
            }

            public int FindDynamicSymbol(string wanted)
            {
                var sym = sections[".dynsym"];
                if (sym.EntrySize != 24) throw new ElfPatchException(".dynsym has an unexpected entry size");
                for (int i = 0; i < sym.Size / 24; i++)
                    if (DynString(SymbolNameIndex(i)) == wanted) return i;
                return -1;
            }

            int SymbolNameIndex(int symbol) => (int)U32(sections[".dynsym"].Offset + symbol * 24);
            public int SymbolNameOffset(int symbol) => sections[".dynstr"].Offset + SymbolNameIndex(symbol);
            public int SymbolSectionIndex(int symbol) => U16(sections[".dynsym"].Offset + symbol * 24 + 6);

            public int VersymEntry(int symbol)
            {
                var v = sections[".gnu.version"];
                int at = v.Offset + symbol * 2;
                if (symbol * 2 + 2 > v.Size) throw new ElfPatchException(".gnu.version is shorter than .dynsym");
                return at;
            }

            /// <summary>Offset of the Vernaux entry naming the version, or null.</summary>
            public int? FindVernaux(string version)
            {
                var r = sections[".gnu.version_r"];
                int need = r.Offset, end = r.Offset + r.Size;
                for (int guard = 0; guard < 4096; guard++)
                {
                    if (need + 16 > end) throw new ElfPatchException(".gnu.version_r entry out of bounds");
                    int count = U16(need + 2);
                    int aux = need + (int)U32(need + 8);
                    for (int k = 0; k < count; k++)
                    {
                        if (aux + 16 > end || aux < r.Offset) throw new ElfPatchException(".gnu.version_r aux entry out of bounds");
                        if (DynString((int)U32(aux + 8)) == version) return aux;
                        uint nextAux = U32(aux + 12);
                        if (nextAux == 0) break;
                        aux += (int)nextAux;
                    }
                    uint next = U32(need + 12);
                    if (next == 0) return null;
                    need += (int)next;
                }
                throw new ElfPatchException(".gnu.version_r has a cycle");
            }

            string DynString(int index)
            {
                var s = sections[".dynstr"];
                if (index < 0 || index >= s.Size) throw new ElfPatchException(".dynstr index out of bounds");
                return CString(s.Offset + index);
            }

            string CString(int at)
            {
                int end = at;
                while (end < b.Length && b[end] != 0) end++;
                if (end == b.Length) throw new ElfPatchException("unterminated string in ELF string table");
                return Encoding.ASCII.GetString(b, at, end - at);
            }

            public ushort U16(int at) { Check(at, 2); return (ushort)(b[at] | b[at + 1] << 8); }
            public uint U32(int at) { Check(at, 4); return BitConverter.ToUInt32(b, at); }
            ulong U64(int at) { Check(at, 8); return BitConverter.ToUInt64(b, at); }
            public void SetU16(int at, ushort v) { Check(at, 2); b[at] = (byte)v; b[at + 1] = (byte)(v >> 8); }

            void Check(int at, int n)
            {
                if (at < 0 || at + n > b.Length) throw new ElfPatchException("ELF structure points outside the file");
            }
        }
    }
}

#if !DISTIL_LIBRARY
// The MSBuild side (compiled by RoslynCodeTaskFactory from this same file; see Directory.Build.targets).
namespace Distil.Native.Build
{
    public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public string Directory { get; set; } = "";

        public override bool Execute()
        {
            string? libstdcxx = Distil.Native.ElfVersionPatcher.FindSystemLibStdCxx();
            foreach (string lib in System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", System.IO.SearchOption.AllDirectories))
            {
                if (!Distil.Native.ElfVersionPatcher.IsPatchNeeded(lib, libstdcxx)) continue;
                try
                {
                    var r = Distil.Native.ElfVersionPatcher.PatchFile(lib);
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, $"{r}: {lib} (system libstdc++ lacks {Distil.Native.ElfVersionPatcher.MissingVersion})");
                }
                catch (Distil.Native.ElfPatchException e)
                {
                    Log.LogWarning($"could not patch {lib}: {e.Message}");
                }
            }
            return true;
        }
    }
}
#endif
