import { describe, expect, it } from 'vitest';
import { pickedRows } from '../../src/desktop/dialogs.js';

describe('pickedRows', () => {
  it("reads the row numbers each platform's script prints as indexes, in list order", () => {
    expect(pickedRows('2', 3)).toEqual([1]);
    expect(pickedRows('3|1', 3)).toEqual([0, 2]); // zenity, macOS, Windows
    expect(pickedRows('1\n3\n', 3)).toEqual([0, 2]); // kdialog --separate-output, yad
    expect(pickedRows('"1" "2"', 3)).toEqual([0, 1]); // kdialog without it
  });
  it('drops what is not a row: nothing, numbers out of range, repeats', () => {
    expect(pickedRows('', 3)).toEqual([]);
    expect(pickedRows('0|4|x|2|2', 3)).toEqual([1]);
  });
});
