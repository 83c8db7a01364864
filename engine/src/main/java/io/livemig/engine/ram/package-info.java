/**
 * The RAM section (spec 2): {@link io.livemig.engine.ram.RamRecord} (record layout and flags),
 * {@link io.livemig.engine.ram.RamSaver} (setup record and pages straight from guest RAM: ZERO, PAGE,
 * XBZRLE with {@link io.livemig.engine.ram.XbzrleCache}, COMPRESS_PAGE), {@link io.livemig.engine.ram.RamLoader}
 * (bounds-checked application into guest RAM, or validation only for the analyzer) and
 * {@link io.livemig.engine.ram.Xbzrle} (delta codec, byte-exact with QEMU 7.2).
 */
package io.livemig.engine.ram;
