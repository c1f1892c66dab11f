/**
 * The emulated web app (docs/kosmi-protocol.md §6.1, §7): on a first visit it gets an anonymous token
 * from anonLogin and keeps it in localStorage["token"], like app.kosmi.io; a "Login" button opens
 * a choice with "Login with Email"; the email form posts to an emulator-only endpoint (how the real
 * app logs in is unknown, §6.2) and on success replaces localStorage["token"] with the user's token.
 * The login button appears only after the anonymous token, as a slow app would show it.
 */
export const EMAIL_LOGIN_PATH = '/_emulator/email-login';

export function appPage(options: {
  showLoginButton: boolean;
  loginDelayMs: number;
  /** 0: the anonymous token is there before the button shows; else the button comes first (slow app). */
  anonLoginDelayMs: number;
}): string {
  const anonDelay = Number.isFinite(options.anonLoginDelayMs) ? options.anonLoginDelayMs : -1;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Kosmi (emulator)</title>
<style>
  body { font-family: sans-serif; margin: 0; }
  header { display: flex; gap: 1em; padding: 0.5em 1em; background: #223; color: #fff; align-items: center; }
  .modal { border: 1px solid #888; padding: 1em; margin: 2em auto; width: 20em; }
  .error-text { color: #c00; margin-top: 0.5em; }
  [hidden] { display: none !important; }
</style></head>
<body>
<header>
  <strong>Kosmi</strong>
  <span id="who">Loading...</span>
  ${options.showLoginButton ? '<button id="login-button" type="button" hidden>Login</button>' : ''}
</header>
<main>
  <p>Watch together with friends.</p>
  <div id="login-modal" class="modal" hidden data-testid="login-modal">
    <div id="login-choices">
      <button type="button" id="login-google">Login with Google</button>
      <button type="button" id="login-email">Login with Email</button>
    </div>
    <form id="email-form" hidden>
      <p><label>Email <input type="email" name="email" autocomplete="email"></label></p>
      <p><label>Password <input type="password" name="password" autocomplete="current-password"></label></p>
      <button type="submit">Login</button>
      <div id="login-error" class="error-text" role="alert" hidden></div>
    </form>
  </div>
</main>
<script>
(async () => {
  const who = document.getElementById('who');
  const claims = (t) => { try { return JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))); } catch { return {}; } };
  const anonDelay = ${anonDelay};
  const anonymous = async () => {
    if (anonDelay < 0) return; // never
    await new Promise((r) => setTimeout(r, anonDelay));
    if (localStorage.getItem('token')) return;
    const response = await fetch('/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { anonLogin { token user { id displayName } } }' }) });
    const token = (await response.json()).data.anonLogin.token;
    if (!localStorage.getItem('token')) localStorage.setItem('token', token);
    who.textContent = 'Guest ' + String(claims(token).sub).slice(0, 8);
  };
  if (anonDelay === 0) await anonymous(); else void anonymous();
  const button = document.getElementById('login-button');
  const modal = document.getElementById('login-modal');
  const form = document.getElementById('email-form');
  const error = document.getElementById('login-error');
  if (button) {
    button.hidden = false;
    button.addEventListener('click', () => { modal.hidden = false; });
  }
  document.getElementById('login-google').addEventListener('click', () => {
    error.textContent = 'Google login is not available'; form.hidden = false; error.hidden = false;
  });
  document.getElementById('login-email').addEventListener('click', () => {
    document.getElementById('login-choices').hidden = true; form.hidden = false;
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(form);
    await new Promise((r) => setTimeout(r, ${options.loginDelayMs}));
    const response = await fetch('${EMAIL_LOGIN_PATH}', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: data.get('email'), password: data.get('password') }) });
    const body = await response.json();
    if (!response.ok) { error.textContent = body.error; error.hidden = false; return; }
    localStorage.setItem('token', body.token);
    modal.hidden = true;
    if (button) button.hidden = true;
    who.textContent = 'Logged in as ' + body.user.displayName;
  });
})();
</script>
</body>
</html>
`;
}
