// The annotator's name, recorded with each event: `?author=NAME` in the address (remembered), else
// the name last used in this browser.

const AUTHOR_KEY = 'pixplot-author';

export function initialAuthor() {
  const given = new URLSearchParams(location.search).get('author');
  if (given !== null) rememberAuthor(given);
  try {
    return (localStorage.getItem(AUTHOR_KEY) || '').slice(0, 128);
  } catch {
    return (given || '').slice(0, 128);
  }
}

/** Remember the annotator's name in this browser (storage may be unavailable: then for this page only). */
export function rememberAuthor(name) {
  try {
    localStorage.setItem(AUTHOR_KEY, name.slice(0, 128));
  } catch { /* private mode: the name lasts as long as the page */ }
}
