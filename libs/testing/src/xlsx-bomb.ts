import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { constants, crc32, createDeflateRaw } from 'node:zlib';
import { LEDGER_FILE_COLUMNS } from '@app/ledger';

/**
 * Writes a minimal XLSX (a zip of [Content_Types].xml, the workbook, its relationships and one
 * worksheet) whose worksheet holds `rows` data rows, streamed and deflated at level 9 without ever
 * holding the sheet in memory. With `constant`, 1,000,000 identical rows of the ledger format unpack
 * to ~550 MB of XML and pack to about 1 MB: the zip bomb of issue #14. `lieAboutSizes` writes small
 * sizes in the zip's headers.
 */
export async function writeXlsxBomb(
  path: string,
  options: { rows: number; lieAboutSizes?: boolean; constant?: boolean },
): Promise<{ uncompressedBytes: number; compressedBytes: number }> {
  const out = createWriteStream(path);
  const central: Buffer[] = [];
  let offset = 0;
  let uncompressedTotal = 0;
  const write = async (buf: Buffer) => {
    offset += buf.length;
    if (!out.write(buf)) await once(out, 'drain');
  };

  async function entry(name: string, chunks: Iterable<string>): Promise<void> {
    const nameBytes = Buffer.from(name, 'utf8');
    const headerOffset = offset;
    // Sizes and CRC follow the data (flag bit 3): the sheet is never held in memory.
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0008, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(nameBytes.length, 26);
    await write(local);
    await write(nameBytes);
    const deflate = createDeflateRaw({ level: constants.Z_BEST_COMPRESSION });
    let crc = 0;
    let size = 0;
    let compressed = 0;
    const drained = (async () => {
      for await (const chunk of deflate) {
        compressed += (chunk as Buffer).length;
        await write(chunk as Buffer);
      }
    })();
    for (const text of chunks) {
      const buf = Buffer.from(text, 'utf8');
      crc = crc32(buf, crc);
      size += buf.length;
      if (!deflate.write(buf)) await once(deflate, 'drain');
    }
    deflate.end();
    await drained;
    uncompressedTotal += size;
    const declared = options.lieAboutSizes ? Math.min(size, 1000) : size;
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc >>> 0, 4);
    descriptor.writeUInt32LE(compressed, 8);
    descriptor.writeUInt32LE(declared, 12);
    await write(descriptor);
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(20, 4);
    record.writeUInt16LE(20, 6);
    record.writeUInt16LE(0x0008, 8);
    record.writeUInt16LE(8, 10);
    record.writeUInt32LE(crc >>> 0, 16);
    record.writeUInt32LE(compressed, 20);
    record.writeUInt32LE(declared, 24);
    record.writeUInt16LE(nameBytes.length, 28);
    record.writeUInt32LE(headerOffset, 42);
    central.push(record, nameBytes);
  }

  await entry('[Content_Types].xml', [
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
      '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
  ]);
  await entry('xl/workbook.xml', [
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
      '<sheets><sheet name="entries" sheetId="1" r:id="rId1"/></sheets></workbook>',
  ]);
  await entry('xl/_rels/workbook.xml.rels', [
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
  ]);
  await entry('xl/worksheets/sheet1.xml', sheetXml(options.rows, options.constant ?? false));

  const centralStart = offset;
  for (const part of central) await write(part);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(central.length / 2, 8);
  end.writeUInt16LE(central.length / 2, 10);
  end.writeUInt32LE(offset - centralStart, 12);
  end.writeUInt32LE(centralStart, 16);
  await write(end);
  out.end();
  await once(out, 'finish');
  return { uncompressedBytes: uncompressedTotal, compressedBytes: offset };
}

/** The import format's columns but the optional asset class: one letter each, A to K. */
const HEADER = LEDGER_FILE_COLUMNS.filter((column) => column !== 'asset_class');
const COLUMNS = 'ABCDEFGHIJK';

function* sheetXml(rows: number, constant: boolean): Generator<string> {
  // A bomb repeats one row without cell references (the format allows it): deflate packs ~1000:1.
  const cell = (column: number, row: number, text: string) =>
    constant ? `<c t="inlineStr"><is><t>${text}</t></is></c>` : `<c r="${COLUMNS[column]}${row}" t="inlineStr"><is><t>${text}</t></is></c>`;
  yield '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>';
  yield `<row r="1">${HEADER.map((h, i) => cell(i, 1, h)).join('')}</row>`;
  let batch: string[] = [];
  for (let n = 0; n < rows; n++) {
    const r = n + 2;
    const id = constant ? 'MM-BOMB' : `MM-${Math.floor(n / 2)}`;
    const account = n % 2 === 0 ? 'maintenance_margin' : 'maintenance_margin_contra';
    const amount = n % 2 === 0 ? '100' : '-100';
    const values = [
      id,
      'margin_requirement',
      '2026-11-05T21:00:00Z',
      '2026-11-05T21:00:00Z',
      constant ? 'ST-1' : `ST-${Math.floor(n / 2) % 1000}`,
      '',
      '',
      '',
      account,
      '',
      amount,
    ];
    batch.push(
      `${constant ? '<row>' : `<row r="${r}">`}${values.map((v, i) => (v === '' ? (constant ? '<c/>' : '') : cell(i, r, v))).join('')}</row>`,
    );
    if (batch.length === 1000) {
      yield batch.join('');
      batch = [];
    }
  }
  yield `${batch.join('')}</sheetData></worksheet>`;
}
