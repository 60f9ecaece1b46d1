'use strict';
// Reads native/sources.json, the one list of native sources shared by CMakeLists.txt and
// binding.gyp. `node scripts/sources.js gyp` prints the addon's full source list (core + addon)
// relative to the package root, space-separated, for binding.gyp's command expansion.
const fs = require('node:fs');
const path = require('node:path');

function groups(which) {
  const json = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'native', 'sources.json'), 'utf8'));
  return Object.values(json[which]).flat().map((f) => `native/${f}`);
}

function addonSources() { return [...groups('core'), ...groups('addon')]; }

module.exports = { groups, addonSources };

if (require.main === module) {
  if (process.argv[2] === 'gyp') process.stdout.write(addonSources().join(' ') + '\n');
  else process.stdout.write(JSON.stringify(addonSources(), null, 2) + '\n');
}
