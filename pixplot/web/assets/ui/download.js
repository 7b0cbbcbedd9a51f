// Saves what the app offers for download: a URL (the server's export) or a Blob (this browser's copy).

import { h } from '../dom.js';

export function mountDownload(app) {
  app.on('download', ({ url, blob, filename }) => {
    const href = blob ? URL.createObjectURL(blob) : url;
    const a = h('a', { href, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    if (blob) setTimeout(() => URL.revokeObjectURL(href), 10000);
  });
}
