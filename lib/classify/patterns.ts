// The 404 pattern library: plain data, grouped by the family a match reports
// as `rule`. lib/classify/classify.ts compiles it once into three automata (path,
// file name, query) that scan in one pass without backtracking.
//
// Every pattern is a lowercase literal matched after lib/classify/normalize-path.ts has
// undone encodings, case, slashes and dot segments. Two anchors exist:
//
//   path  patterns see `^/seg1/seg2/.../segN/$`
//         '^/wp-admin/'  first segment is wp-admin (also /wp-admin/x)
//         '/fckeditor'   some segment starts with fckeditor
//         '/cgi-bin/'    some segment is exactly cgi-bin
//         '/passwd/$'    last segment is exactly passwd
//   name  patterns see `^<last segment>$`
//         '^wp-config.'  file name starts with wp-config.
//         '.sql$'        extension
//         'shell'        anywhere in the file name
//   query patterns see `^<decoded query>$`
//
// Every family says how sure a match is (`certainty`): `certain` when no
// real browser, crawler following links or user with an old bookmark of a
// migrated site would ever ask for such a path (one probe marks an IP),
// `likely` otherwise (probes count toward a limit). When several families
// fire, a certain one wins; among equals, the one listed first. Certain
// families are listed first. A certain verdict must never come from a word
// alone: certain patterns are payload syntax, whole file names or a
// product's private path, and a page extension (`xmlrpc.html`) or a search
// (`?q=whoami`) keeps a name from counting.
// Covering a family means naming what makes it a probe (a product's private
// path, a file type nobody links to, an attack payload), never a word a
// legitimate route could use on its own: `env`, `admin`, `git`, `shell`,
// `config` or `wp` alone fire nothing.

// Injection payloads such as `${jndi:` are literal text here, not templates.
/* eslint-disable no-template-curly-in-string */

/**
 * `certain`: no legitimate client ever sends such a probe (no browser, no
 * crawler following links, no user with an old bookmark of a migrated site):
 * one is enough to mark an IP. `likely`: a probe more often than not, but a
 * stale link, a bookmark or a client of a product that once lived on the host
 * could produce it: such probes count toward a limit.
 */
export type Certainty = 'certain' | 'likely'

export interface PatternFamily {
  /** Reported as `rule` on the event. */
  readonly rule: string
  /** Whether one probe of this family is enough to mark an IP (see Certainty). */
  readonly certainty: Certainty
  /** What the family covers, and why it is certain or only likely. */
  readonly about: string
  /** Path patterns that fire wherever they are found. */
  readonly path?: readonly string[]
  /**
   * Path patterns made of product names: they fire except on a page that is
   * about something (docs, tags, search, help ...), so that `/tags/jenkins/`
   * or `/docs/phpmyadmin/` stay unknown.
   */
  readonly pathOutsideContent?: readonly string[]
  /** File name (last segment) patterns. */
  readonly name?: readonly string[]
  /** File name patterns that fire only with a server-side script extension (`.php`, `.asp`, `.jsp` ...). */
  readonly scriptName?: readonly string[]
  /** Query string patterns. */
  readonly query?: readonly string[]
  /**
   * Client software asks for these paths on its own (Outlook's autodiscover,
   * Thunderbird's autoconfig, monitoring agents scraping a status page, an
   * app's config file): a likely probe of such a family is never counted as
   * certain just because its client is not a browser (`certainFromNonBrowsers`).
   */
  readonly polled?: true
}

/**
 * Expression-language payloads (OGNL, SpEL, EL, Jinja2, Twig, Freemarker, Velocity, Text4Shell), in the
 * path or the query once decoded. What makes one is the syntax: an expression opener with arithmetic
 * (`{{7*7}}`, `${3*3}`), a static call into the JVM (`@java.lang.`, `T(java.`), OGNL's context
 * objects, Python's dunder walk (`.__class__.__mro__`). A bare `{{url}}` is not one: crawlers
 * ask for unrendered template links such as `/{{item.link}}`.
 */
const expressionPayloads: readonly string[] = [
  ...['{{', '${', '#{', '*{', '%{', '@{', '[[', '<%='].flatMap((open) =>
    ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => open + d + '*')),
  '%{(', '${(#', '(#_memberaccess', '#_memberaccess', '@ognl.', 'ognlcontext', 'ognlutil', '(#cmd', '(#context',
  '#context[', '#attr[', '(#ros', '(#process', '(#dm', 'xwork.methodaccessor', 'allowstaticmethodaccess',
  '@java.lang.', '@java.io.', '@org.apache.', '${@', 't(java.', 't (java.', 'java.lang.processbuilder', 'processbuilder(',
  '.getclass().forname', 'getclass().getclassloader', 'javax.script.scriptenginemanager', 'runtime.exec(',
  '.exec("', ".exec('", '${script:', '${url:', '${dns:', '${jndi:', '{{\'\'.', '{{"".', '{{[].', '{{().',
  '.__class__', '.__mro__', '.__subclasses__', '.__globals__', '.__builtins__', '.__init__.', '{{config.', '{{config}}',
  '{{self.', '{{request.', '{{_self.', '{{lipsum.', '{{cycler.', '{{joiner.', '{{namespace.', 'freemarker.template.utility',
  '?new()(', '#set($', '$class.inspect', '{php}', '{system(', '{{system(', '<#assign'
]

export const families: readonly PatternFamily[] = [
  {
    rule: 'traversal',
    certainty: 'certain',
    about: 'path traversal (also see the normaliser, which flags `..` above the root and disguised `..`); ' +
      'certain: browsers and crawlers resolve dot segments before they send a request',
    query: ['../../', '^../', '=../', '..../', '/../', '..//', '=..$']
  },
  {
    rule: 'os-file',
    certainty: 'certain',
    about: 'operating system files and folders; certain: no site links to its own /etc/passwd or win.ini ' +
      '(bare folder names a site could use, such as /boot/ or /windows/, are not listed)',
    path: [
      '^/etc/', '/etc/passwd/', '/etc/shadow/', '/etc/hosts/', '/etc/group/', '/etc/issue/', '/etc/hostname/',
      '^/proc/self', '^/proc/version', '^/proc/cpuinfo', '^/proc/meminfo', '^/proc/mounts', '^/proc/net/',
      '^/proc/1/', '^/proc/sched_debug', '/proc/self/', '/windows/system32/', '/winnt/system32/', '/system32/', '^/windows/win.ini',
      '^/winnt/win.ini', '^/c:/', '^/d:/', '^/boot/grub', '^/usr/local/', '^/usr/bin/', '^/usr/sbin/',
      '^/usr/share/', '^/usr/lib/', '^/var/log/', '^/var/www/', '^/var/lib/', '^/var/run/', '^/var/tmp/',
      '^/var/spool/', '^/var/mail/', '^/var/$', '^/bin/sh/', '^/bin/bash/', '^/bin/busybox/', '/bin/busybox/',
      '^/dev/tcp/', '^/dev/cmdb/', '^/passwd/$', '/config/sam/$'
    ],
    name: [
      '^win.ini$', '^boot.ini$', '^system.ini$', '^lilo.conf$', '^grub.conf$', '^grub.cfg$', '^master.passwd$',
      '^cmd.exe$', '^ntuser.dat$', '^hosts.allow$', '^hosts.deny$',
      '^resolv.conf$', '^issue.net$'
    ],
    query: [
      'etc/passwd', 'etc/shadow', '=/etc/', '^/etc/', 'etc/f5-release', 'win.ini', 'boot.ini',
      'system.ini', 'system32/', 'windows/system', 'winnt/', 'c:/windows', 'c:/boot', 'c:/inetpub', 'proc/self/',
      '/bin/sh', '/bin/bash', '/bin/cat', '/bin/busybox', '/bin/id', 'cmd.exe', 'web-inf/web.xml', '/dev/tcp/',
      'dev/cmdb/', '/var/log/', '/root/.ssh', '.ssh/id_rsa', 'sslvpn_websession'
    ]
  },
  {
    rule: 'file-inclusion',
    certainty: 'certain',
    about: 'local and remote file inclusion payloads in the query (wrappers, remote scripts, NUL truncation); ' +
      'certain: payload syntax, not a page anyone links to',
    query: [
      'php://', 'file://', 'file:/', 'file///', 'data://', 'data:text', 'expect://', 'phar://', 'zip://', 'glob://',
      'compress.zlib', 'zlib:', 'allow_url_include', 'auto_prepend_file', 'auto_append_file',
      'mosconfig_', 'rfiinc', '\0',
      // A remote URL given to a parameter that names a file to include. Whole parameter names only
      // (`?redir=https://...`, `?return_path=https://...` are redirects), but for suffixes no redirect uses.
      ...['path', 'dir', 'root', 'inc', 'include', 'includes', 'prefix', 'page', 'template', 'lib', 'libdir',
        'folder', 'module', 'conf', 'config', 'classpath', 'language', 'lang_file', 'skin', 'skinfile', 'cfile',
        'basedir', 'libpath', 'incdir', 'inc_dir', 'templatedir', 'template_dir']
        .flatMap((key) => ['^' + key + '=http', '&' + key + '=http', '^' + key + '=ftp', '&' + key + '=ftp']),
      'path]=http', 'dir]=http', 'root]=http', 'absolute_path=http', 'root_path=http', 'base_path=http',
      'basepath=http', 'include_path=http', 'includepath=http', 'path_prefix=http', 'app_path=http',
      'sys_dir=http', 'document_root=http', '_root=http', 'rootpath=http', 'root_dir=http', 'basedir=http'
    ]
  },
  {
    rule: 'injection',
    certainty: 'certain',
    about: 'code, command, template, SQL and script injection payloads (specific syntax, never plain words); ' +
      'certain: an attack payload is never a link',
    path: [
      // Not a bare `javascript:` or `<img`: crawlers follow `href="javascript:void(0)"` and broken markup.
      '${jndi', '${::', '${${', '${lower', '${upper', '${env:', '${sys:', '${java:', '${base64', '<script', '<svg',
      '<iframe', 'javascript:alert', 'javascript:prompt', 'javascript:confirm', 'javascript:eval', 'onerror=', 'onload=', 'alert(', 'document.cookie', 'union select',
      'union all select', '<?php', 'phpinfo()', 'base64_decode(', 'shell_exec(', 'passthru(', 'freemarker.template',
      'java.lang.runtime', '_memberaccess', 'class.module.classloader', '{{7*7}}', '${7*7}', '%{(#', 'getruntime()',
      'wget http', 'curl http', 'cd /tmp', 'chmod 777', 'chmod +x', '${ifs}', '$ifs$', '&&echo', '|echo ', '$(echo ',
      '`echo ', '() { :', '(){ :', ...expressionPayloads
    ],
    query: [
      '${jndi', '${::', '${${', '${lower:', '${upper:', '${env:', '${sys:', '${java:', '${base64', '${date:',
      '<script', 'javascript:alert', 'vbscript:', 'onerror=', 'onload=', 'onmouseover=', 'onfocus=', 'alert(',
      'document.cookie', 'document.domain', "' union", '" union', ') union', '-1 union', 'union all select',
      'union select null', 'union select 1', 'union select 0x', 'union select concat', "' or '1'='1", "' or 1=1",
      '" or "1"="1', ' or 1=1--', "' and 1=1", "' and '1'='1", '1=1--', 'sleep(5)', 'benchmark(', 'waitfor delay',
      '@@version', 'extractvalue(', 'updatexml(', 'load_file(', 'into outfile', 'xp_cmdshell', '<?php', '<?=',
      'phpinfo()', 'base64_decode(', 'shell_exec(', 'passthru(', 'proc_open(', 'file_put_contents(',
      'die(md5', 'die(@md5', '@md5(', 'print(md5', 'echo md5', 'echo(md5', 'pearcmd', 'hellothink', 'freemarker.template', 'java.lang.runtime', 'java.lang.processbuilder',
      '_memberaccess', 'class.module.classloader', '.getruntime(', '{{7*7}}', '${7*7}', '#{7*7}', '%{(#',
      'wget http', ';wget', '|wget', '`wget', '$(wget', ';curl', '|curl', '`curl', '$(curl', 'cd /tmp', '/tmp;',
      ';sh ', '|sh ', '| sh', ';bash', '|bash', ';chmod', '|chmod', '&&chmod', '&& chmod', 'nc -e', 'bash -i',
      ';id;', ';id$', '|id$', ';uname', '|uname', ';cat ', '|cat ', '`cat ', ';ls ', '|ls ', '$(cat', '$(id)',
      '$(uname', '`id`', ';touch ',
      // A web shell asked to run a command: a command parameter with a shell command for a value.
      ...['cmd', 'exec', 'command'].flatMap((key) => ['id', 'ls', 'pwd', 'whoami', 'uname', 'cat', 'dir', 'echo', 'wget',
        'curl', 'ipconfig', 'ifconfig', 'netstat', 'hostname'].flatMap((command) => ['$', ' ', ';', '&']
        .flatMap((end) => ['^' + key + '=' + command + end, '&' + key + '=' + command + end]))),
      '|touch ', 'ping.exe', '|dir', '/c dir', 'command=whoami',
      // Command words only after a shell metacharacter or as a command parameter: `?q=whoami` and
      // `?q=busybox` are searches on a Linux tutorial site.
      ...['whoami', 'busybox'].flatMap((word) => [';' + word, '|' + word, '`' + word, '$(' + word, '&&' + word,
        '&& ' + word, '; ' + word, '| ' + word, '^c=' + word, '&c=' + word, '\n' + word]),
      '${ifs}', '$ifs$', '&&echo', 'type=*"',
      // Struts 2 prefix parameters (S2-016/017), Shellshock, CRLF header injection
      '^redirect:', '&redirect:', '^redirectaction:', '&redirectaction:', '^action:', '&action:', '() { :', '(){ :',
      '\nset-cookie:', '\rset-cookie:', '\nlocation:', '\rlocation:', '";}', "';}", '\'"><', '"><', "'><", ...expressionPayloads
    ]
  },
  {
    rule: 'vcs',
    certainty: 'certain',
    about: 'version control metadata (dot folders are handled in code); certain: no page links to /.git/config',
    path: ['/cvs/entries/', '/cvs/root/', '/cvs/repository/', '/_darcs/', '/_svn/', '/svn/wc.db/'],
    name: ['^wc.db$']
  },
  {
    rule: 'dotfile',
    certainty: 'certain',
    about: 'hidden files and folders (handled in code; platform routes such as /.well-known are excepted) and ' +
      'environment and htaccess files; certain: never linked, never asked for by a browser',
    name: ['.env$', '^env.bak', '^env.old', '^env.save', '^env.txt', '^env.local', '^env.prod', '^env.dev',
      '^dotenv.', '.htpasswd', 'htpasswd.', '^htpasswd$', '.htaccess', 'htaccess.', '^htaccess$', '^htgroup$',
      '.htdigest', '.htusers', '.ds_store', '^ds_store$']
  },
  {
    rule: 'webshell',
    certainty: 'certain',
    about: 'web shells and backdoors: names from public backdoor lists, shell words, throwaway script names ' +
      '(`1.php`, `x.php`, `dz0.php`) and scripts where uploads live (combined with a script extension in code); ' +
      'certain: these names are what a dropped shell is called, never a page of a site',
    pathOutsideContent: ['/backdoor/', '/backdoors/', '/webshell/', '/webshells/', '/wso/', '/c99/', '/r57/',
      '/alfa_data/', '/alfacgiapi/'],
    scriptName: [
      // Names from public backdoor lists.
      '^c99.', '^c99shell', '^c99_', '^c99mad', '^c999', '^c99ud', '^c100', '^r57.', '^r57shell', '^r57_', '^r58',
      '^r99', '^wso.', '^wso_', '^wso-', '^wso1', '^wso2', '^wso4', '^wsoshell', '^b374k', '^alfa.', '^alfa-rex',
      '^alfa_', '^alfashell', '^alfateam', '^alfacgi', '^alfa1', '^alfav', '^madspot', '^xleet', '^indoxploit',
      '^priv8', '^lfm.', '^nst.', '^nstview', '^upl.', '^upl0ader',
      '^cmdasp', '^cmdexec', '^cmd.', '^cmd_', '^cmd-', '^spexec', '^simattacker', '^sosyete', '^zehir',
      '^erne.', '^isko.', '^iskorpitx', '^kral.', '^lostdc', '^sincap', '^safe0ver', '^wewo.', '^pws.pl',
      '^bloodsec', '^baidoubi', '^hkrkoz', '^indosec', '^itsecteam', '^d0main',
      '^dz.', '^dz0.', '^dz1.', '^ngh.', '^t00.', '^wp-term.', '^zone-h',
      '^searchreplacedb', '^filesystembrowser', '^aspydrv', '^aspy.', '^efso', '^3fexe', '^dtool', '^ka_ushell',
      '^antichat', '^ayyildiz', '^azrail', '^ajax_php_command', '^cgitelnet', '^ctt_sh', '^connect-back',
      '^cbfphpsh', '^ex0shell', '^g00n', '^grp_webshell', '^jspwebshell', '^mackers', '^non-alphanumeric',
      '^ru24_post', '^rootshell', '^stnc_', '^toolaspshell', '^winx_shell', '^up_win32', '^cmd_win32', '^loaderz',
      '^phpjackal', '^phpremoteview', '^phpspy', '^gfs_sh', '^h4ntu', '^ironshell', '^klasvayv', '^lurm_safemod',
      '^matamu', '^myshell', '^nshell', '^phantasma', '^qsd-php', '^simple-backdoor', '^simple_cmd', '^s72_shell',
      '^specialshell', '^sst-sheller', '^w4ck1ng', '^zacosmall', '^casus15', '^crystalshell', '^cybershell',
      '^dive_shell', '^dxshell', '^go-shell', '^kadot', '^lamashell', '^liz0zim', '^mysql_interface',
      '^networkfilemanager', '^ncc-shell', '^c0derz', '^c2007', '^madnet',
      '^leafmailer', '^wp-xmlrpc.', '^about.php7', '^xmrlpc', '^wp-blog.', '^wp-info.',
      '^wp-l0gin', '^wp-2019', '^wp-22', '^f0x.', '^h4x', '^0x.', '^0byte',
      '^shell.', '^sh.', '^sh3ll', '^x.', '^xx.', '^xxx.', '^z.', '^zz.', '^1337', '^l3b.',
      '^madspotshell', '^php-backdoor', '^php_shell', '^php-reverse-shell', '^php-tiny-shell',
      '^reverse-shell', '^weevely', '^wso2', '^xshell', '^wshell', '^shellz',
      '^webshell.', '^webshell_', '^backdoor.', '^backdoor_', '^simple-backdoor',
      // Shell words anywhere in a file name (not a bare `shell.`: `nutshell.php` is a page).
      'shellz', 'b374k', 'priv8', 'sh3ll', 'madspot', 'xleet', '0wn3d',
      'jspspy', 'aspxspy', 'phpspy', '^dx.', '^ntdaddy', '^remexp', '^elmaliseker', '^accept_language', '^lifkas',
      '^cfexec', '^x1.', '^xl.',
      // Double extensions of an upload filter bypass.
      '.jpg.', '.jpeg.', '.png.', '.gif.', '.txt.', '.ini.', '.ico.', '.pdf.', '.zip.', '.bmp.', '.svg.'
    ]
  },
  {
    rule: 'secret-file',
    certainty: 'certain',
    about: 'private keys, cloud and FTP client credentials, Terraform state, shell histories; certain: a secret ' +
      'is never linked, and nobody fetches their own over the web',
    path: [
      // Whole names, not words: `/config/credentials` can be a settings page, `/id_rsa-vs-ed25519` a post.
      '/.ssh/', '^/config/master.key', '^/config/credentials.', '^/config/sftp.json', '^/sftp-config', '^/wg-clients/'
    ],
    name: [
      '.pgpass$', '.netrc$', '.sh_history$', '.mylogin.cnf', '.tfstate$', '.tfstate.', '.ppk$',
      ...['id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519', 'authorized_keys', 'known_hosts'].flatMap((key) => ['^' + key + '$', '^' + key + '.', '^' + key + '_', '^' + key + '2']), '^ssh_host_', '^master.key',
      '^aws_credentials', '^s3cfg', '^terraform.tfstate', '^initial_root_password', '^filezilla.xml',
      '^sitemanager.xml', '^recentservers.xml', '^winscp.ini', '^ws_ftp.ini', '^sftp-config', '^.ftpconfig',
      '^tomcat-users', '^serviceaccountkey', '^service-account-key', '^firebase-adminsdk', '^wg0.conf'
    ]
  },
  {
    rule: 'wordpress-probe',
    certainty: 'certain',
    about: 'WordPress files no browser, crawler or bookmark asks for: xmlrpc.php, wlwmanifest.xml, wp-config.php ' +
      'and its backups, the installer; certain: they are read by blog clients and scanners, never from a link',
    path: ['/xmlrpc.php/', '/xmlrpc_server.php/', '/wlwmanifest.xml/', '^/wp-admin/install.php',
      '^/wp-admin/setup-config.php'],
    pathOutsideContent: ['/wp-config.', '/wp-config_', '/wp-config-backup', '/wp-config-sample', '/wp-config~', '/wp-config/'],
    name: ['^wp-config.', '^xmlrpc.', '^xmlrpc_', '^wlwmanifest.', '^wp-cli.yml']
  },
  {
    rule: 'framework-rce',
    certainty: 'certain',
    about: 'framework files read or run only by exploits: PHPUnit\'s eval-stdin.php, Laravel Ignition\'s solution ' +
      'runner, Vite\'s /@fs/ file reader, WEB-INF and META-INF (never served by a servlet container); certain',
    path: ['^/_ignition/', '^/@fs/', '^/vendor/phpunit/', '/vendor/phpunit/', '/phpunit/phpunit/', '/phpunit/util/',
      '/phpunit/src/', '^/lib/phpunit/', '^/web-inf/', '^/meta-inf/', '/_/web-inf/', '/_/meta-inf/'],
    pathOutsideContent: ['/_ignition/', '/vendor/phpunit', '/web-inf/', '/meta-inf/'],
    name: ['^eval-stdin.php']
  },
  {
    rule: 'vendor-rce',
    certainty: 'certain',
    about: 'exploit and management endpoints of network appliances, VPN gateways, cameras and routers, and known ' +
      'exploit paths and payloads of products (ThinkPHP, Struts, vCenter, Confluence ...); certain: a browser only ' +
      'reaches these on the appliance itself, and an exploit path is never a link',
    query: ['^s=/index/', '^s=index/', 'index/think', '_method=__construct', 'vars[0]=',
      '^type=keygen', '^type=report&reportname', 'cmd=ping', 'mode=cmd',
      'call_user_func', 'invokefunction', 'think/app', 'think/container', 'think/view', 'think/request',
      'vars[1][]=', 'function=call_user', 'filter[]=system', 'server[request_method]'],
    path: [
      '^/hnap1', '^/boaform/', '^/boafrm/', '^/gponform/', '^/goform/', '^/ctrlt/', '^/userrpm/', '^/tmui/',
      '^/mgmt/tm/', '^/mgmt/shared/', '^/remote/fgt_lang', '^/remote/login', '^/remote/logincheck',
      '^/remote/error', '^/remote/info', '^/remote/portal', '^/remote/saml', '^/remote/hostcheck',
      '^/api/v2/cmdb/', '^/dana-na/', '^/dana-cached/', '^/dana/html5acc', '^/dana/home/', '^/dana-ws/',
      '^/global-protect/', '^/ssl-vpn/', '^/sslvpn', '^/+cscoe+/', '^/+cscol+/', '^/+cscot+/', '^/+cscou+/',
      '^/+webvpn+/', '^/cscoe/', '^/webvpn', '^/vpn/index.html', '^/vpn/tmindex', '^/vpn/js/', '^/vpns/',
      '^/logon/logonpoint/', '^/mifs/', '^/mics/', '^/catalog-portal/', '^/php/ztp_gate.php',
      '^/php/utils/', '^/esp/cms_changedevicecontext', '^/__api__/',
      '^/sonicos/', '^/cgi-mod/', '^/zyxel/', '^/ztp/', '^/hedwig.cgi', '^/getcfg.php', '^/tmpfs/',
      '^/picsdesc.xml', '^/wanipcn.xml', '^/currentsetting.htm', '^/boarddataww.php', '^/setup.cgi',
      '^/tmunblock.cgi', '^/level/15/', '^/editblackandwhitelist', '^/evox/', '^/por/login_psw', '^/sess-bin/',
      '^/operator/basic.shtml', '^/web_shell_cmd.gch', '^/volume1/', '^/y000000000000', '^/sdk/weblanguage',
      '^/isapi/', '^/onvif', '^/rpc2_login', '^/agentboard.xgi', '^/ccmadmin/', '^/sgms/', '^/versa/', '^/wabam', '^/securenvoy/', '^/cgi-bin-sdb/', '^/mrcgi/', '^/zhnping.cmd',
      '^/forms/dologin', '^/_mem_bin/', '^/msadc/', '^/iisadmpwd/', '^/iissamples/', '^/issamples/',
      '^/iishelp/', '^/ctc/servlet', '^/developmentserver/', '^/nps/servlet', '^/ossim/', '^/anaqua/', '^/chronos.wsc/', '^/cxcum/', '^/ccm-web/',
      '^/emswebclient/', '^/fpui/', '^/gespage/', '^/hm/login.action', '^/monitorix-cgi/', '^/sfiler/',
      '^/ocpu/', '^/secmail/', '^/sphinxauth/', '^/sws/',
      '^/static/console-utm-webui/', '^/webmodule-ee/', '^/akuiteo', '^/cxrestapi/', '^/gdshost/', '^/pem/login/', '^/dxplanning/', '^/_login_server_', '^/qsa/',
      '^/op/generate', '^/saw.dll', '^/out/out.', '^/b/l.e', '^/cfcc/', '^/hybridity/', '^/studioserver/',
      '^/clients/mycrl', '^/server/node_upgrade_srv', '^/rsso/', '^/sfmc/login', '^/reports/data/opt/', '^/akuiteo.collabs', '^/sm/ess.do', '^/sm935/',
      '^/ui/vropspluginui/', '^/ui/vcav-bootstrap/', '^/ui/h5-vsan/', '^/eam/vib', '^/sslvpnlogin',
      '^/ows-bin/', '^/iisprotect/', '^/pbserver/', '^/nf/auth/', '^/devmode.action', '^/showcase.action', '^/struts2xmlhelloworld', '^/rpc2/$', '^/scripts/root.exe',
      '^/pages/doenterpagevariables.action', '^/pages/createpage-entervariables', '^/rest/tinymce/',
      '^/secure/configurewizard', '^/secure/querycomponent', '^/secure/configurereport', '^/moveitisapi/',
      '^/human.aspx', '^/guestaccess.aspx', '^/setupwizard.aspx', '^/setup/setup-s/', '^/ws/v1/cluster/',
      '^/v1.24/', '^/v1.40/', '^/containers/json', '^/v2/_catalog', '^/apis/apps/', '^/cgi-bin/kerbynet',
      '^/scripts/wpnbr', '^/scripts/tradecli', '^/scripts/mundimail', '^/scripts/ckeditor',
      '^/scripts/setup.php', '^/bigconf.cgi', '^/iecreate.stm', '^/phprocketaddin', '^/[seccheck]',
      '^/showmail.pl', '^/dana-na', '^/betablockmodules/', '^/web/betablockmodules/', '^/_friendly/',
      '^/arab3upload/', '^/arash_lib/', '^/awzmb/', '^/myphpcommander', '^/script_path/', '^/sw/lib_find/',
      '^/w-agora_path/', '^/php.incs/', '^/inc_user.php', '^/s03.php', '^/mifs', '^/remote_agent.php',
      '^/hipreport.esp', '^/sslmgr', '^/wsman', // SonicWall, Cisco IOS XE, Siemens, D-Link, DVRs, ManageEngine
      '^/sonicui/', '^/api/sonicos/', '^/webui/logoutconfirm', '^/portal/portal.mwsl', '^/config/getuser',
      '^/device.rsp', '^/showlogin.cc', '^/cgi-bin/nas_sharing.cgi', '^/cgi-bin/authlogin.cgi',
      // CGI endpoints of routers, NAS and cameras (old sites' own CGI scripts stay in the likely `cgi` family)
      '^/cgi-bin/luci', '^/cgi-bin/viewlog.asp', '^/cgi-bin/mainfunction.cgi', '^/cgi-bin/config.exp',
      '^/cgi-bin/supervisor/', '^/cgi-bin/jarrewrite.sh', '^/cgi-bin/webproc', '^/cgi-bin/system_mgr.cgi',
      '^/cgi-bin/network_mgr.cgi', '^/cgi-bin/dev_mgr.cgi', '^/cgi-bin/hi3510/', '^/cgi-bin/ddns_enc.cgi',
      '^/cgi-bin/downloadflile.cgi', '^/cgi-bin/wlogin.cgi', '^/cgi-bin/cgictl', '^/cgi-bin/handler',
      '^/cgi-bin/admin/servetest', '^/cgi-bin/qnapmsg.cgi', '^/cgi-bin/wwwctrl.cgi', '^/cgi-bin/xweb500.cgi',
      '^/cgi-bin/.cobalt'
    ],
    name: [
      '^remote_agent.php', '^telerik.web.ui.dialoghandler', '^getcfg.php', '^hnap1', '^currentsetting.htm',
      '^login.esp', '^fgt_lang', '^sslvpn_websession', '^tmshcmd.jsp', '^filerread.jsp', '^fileread.jsp',
      '^directorylist.jsp', '^happyaxis.jsp', '^jmxinvokerservlet', '^node_upgrade_srv',
      '^createremoteappwebsession', '^ztp_gate', '^execute-solution', '^htimage.exe', '^imagemap.exe',
      '^toolpane.aspx', '^webjobupload.asmx', '^exporttool', '^service.cnf', '^users.pwt', '^sqlqhit.asp',
      '^sewse.exe', '^post16.exe', '^tradecli.dll', '^wpnbr.dll', '^saw.dll', '^studioservice.download',
      '^getproductversion'
    ]
  },
  {
    rule: 'recon',
    certainty: 'certain',
    about: 'scanner fingerprints, proxy judges and IIS short-name enumeration (nmaplowercheck, w00tw00t, azenv.php, ' +
      '`/*~1*/`); certain: tool names and tricks, never pages',
    path: ['nmaplowercheck', 'muieblackcat', 'w00tw00t', '^/azenv.php', '^/proxyheader.php', '^/testproxy.php',
      // IIS 8.3 short-name enumeration (`/*~1*/a.aspx`, `/web~1.con`)
      '*~1', '~1*'],
    scriptName: ['^azenv', '^prxjdg'],
    name: ['^azenv.', '^proxyheader', '^testproxy', '^prxjdg', '^proxychecker']
  },
  {
    rule: 'open-proxy',
    certainty: 'certain',
    about: 'open-proxy and request-forgery tests: a request target in absolute form (`http://example.com/`) or ' +
      'authority form (`example.com:443`), judged in code, and cloud metadata addresses; certain: browsers send ' +
      'those only to a proxy they were told to use, and no page links to 169.254.169.254',
    path: ['^/latest/meta-data', '^/latest/user-data', '^/latest/api/token', '^/computemetadata/', '^/metadata/instance',
      '^/openstack/latest/'],
    query: ['169.254.169.254', 'metadata.google.internal', '[::ffff:a9fe:a9fe]', '/latest/meta-data', '100.100.100.200',
      '/computemetadata/v1']
  },
  {
    rule: 'dns-over-https',
    certainty: 'certain',
    about: 'DNS-over-HTTPS queries (`/dns-query?dns=...`, `/resolve?name=example.com&type=A`), judged in code ' +
      'from the path and its DNS parameters; certain: a DoH client only asks the resolver it was configured with'
  },
  {
    rule: 'shell-name',
    certainty: 'likely',
    about: 'script names that backdoor lists use but that are also ordinary words a site may have had ' +
      '(`bug.php`, `console.php`, `up.php`, `nutshell.php`, `shellfish.php`, `backdoor-roth-ira.php`, ' +
      '`c99-standard.php`, `alfa-romeo.php`), and scripts in image and cache folders; ' +
      'likely: a stale link of a migrated PHP site can ask for them',
    scriptName: [
      '^sym.', '^sym1.', '^lol.', '^door.', '^killer.', '^stres.', '^ddos.', '^locus', '^lolipop', '^punk',
      '^sniper.', '^dc.pl', '^irc.pl', '^acid.', '^angel.', '^bug.', '^duck.', '^python.', '^dra.', '^ee.', '^co.',
      '^g5.', '^up.', '^dumper.', '^fatal.', '^mini.', '^leaf.', '^fox.', '^marijuana', '^hacked.', '^ok.',
      '^404.php', '^repeater.', '^webadmin.php', '^spy.', '^pi.', '^_', '^ws.', '^wp.', '^admin1', '^mar.',
      '^evil.', '^hack.', '^hacker.', '^pwn', '^exploit.', '^payload.', '^rce.', '^cmd', '^command.',
      '^terminal.', '^console.php', '^eval.', '^system.php', '^run.php', '^ajax-shell',
      'shell.', 'shell_', 'shell-', 'shell1', 'shell2', '^shell', 'webshell', 'backdoor', 'c99', 'r57', '^wso',
      '^alfa', '^bypass.', '_bypass', '-bypass.', '-reverse.',
      '_reverse.', '^reverse.', 'exec.'
    ]
  },
  {
    rule: 'wordpress',
    certainty: 'likely',
    about: 'WordPress core, plugin and theme paths (media and static assets under them are excepted in code); ' +
      'likely: a site that moved off WordPress leaves links and bookmarks to /wp-admin/, /wp-login.php and its assets',
    query: ['rest_route=/wp/', 'rest_route=%2fwp%2f'],
    path: [
      '^/wp-admin/', '^/wp-content/', '^/wp-includes/', '^/wp-json/', '^/_wpeprivate/', '^/wordpress/', '^/wp/wp-',
      '^/blog/wp-', '^/wp1/', '^/wp2/', '^/wp3/', '^/old-wp/', '^/wp-old/', '^/oldwp/', '^/newwp/', '^/wp-new/',

    ],
    pathOutsideContent: ['/wp-admin/', 'wp-content/', 'wp-includes/', '/wp-json/', '/wp-login', '/wp-register',
      '/wp-signup', '/wp-cron', '/wp-trackback', '/wp-load', '/wp-mail', '/wp-blog-header',
      '/wp-activate', '/wp-links-opml', '/wp-settings'],
    name: ['^wp-login.']
  },
  {
    rule: 'cms',
    certainty: 'likely',
    about: 'other CMS, shop and forum software (Joomla, Drupal, TYPO3, Bitrix, Magento, ...); ' +
      'likely: a site that moved off a CMS leaves links and bookmarks to its pages',
    path: [
      '^/administrator/components/', '^/administrator/index.php', '^/administrator/manifests/',
      '^/administrator/templates/', '^/administrator/language/', '^/administrator/logs/', '^/administrator/help/',
      '/components/com_', '/com_', '/modules/mod_', '^/joomla/', '^/joomla.', '^/installation/',
      '^/drupal/', '/sites/default/settings', '/sites/default/private/', '^/sites/all/modules/', '^/core/install.php',
      '^/core/changelog.txt', '^/changelog.txt/$', '^/misc/drupal.js',
      '^/typo3/', '^/typo3conf/', '^/typo3temp/var/', '^/typo3_src', '/typo3conf/',
      '^/bitrix/', '^/app/etc/', '^/magento/', '^/downloader/index.php', '^/skin/adminhtml/', '^/errors/local.xml',
      '^/var/export/', '^/magmi/', '/magmi/', '^/umbraco/', '^/sitecore/', '^/sitecore_', '^/sitefinity/', '^/cmspages/',
      '^/cmsmodules/', '^/desktopmodules/', '^/dnn/', '^/forumrunner/', '^/ajax/render/',
      '^/phpbb', '^/mybb/', '^/system/storage/', '^/admin/controller/', '^/ghost/api/admin/',
      '^/admin/plugins/users-permissions/', '^/system/expressionengine/', '^/cmsms/', '^/dede/',
      '^/phpcms/', '^/e/data/', '^/nuke/', '^/modules.php', '^/b2-include/', '^/b2-tools/', '^/xoops',
      '^/modules/forums/', '^/squirrelmail', '^/horde', '^/roundcube', '^/rcube', '^/webmail/src/',
      '^/webmail/horde/', '^/owncloud', '^/nextcloud', '^/claroline/', '^/mambo/', '^/mambots/',
      '^/processwire/', '^/neos/', '^/episerver/', '^/glpi/', '^/opensis/', '^/bonita/',
      '^/admin/config.php', '^/concrete5/', '^/silverstripe', '^/contao/', '^/shopware/', '^/prestashop/',
      '^/oscommerce/', '^/zencart/', '^/catalog/admin/', '^/admin/includes/',
      '^/includes/configure.php', '^/forums/cache/', '^/forum/cache/', '^/smf/', '^/ipb/', '^/invision/',
      '^/vbulletin/', '^/whmcs', '^/clientarea.php', '^/webacula/', '^/wwwboard/', '^/cfide/',
      '^/cfdocs/', '^/railo-context/', '^/lucee/', '^/lib/flex/', '^/skin_shop/', '^/learn/ruubikcms/',
      '^/ruubikcms/', '^/plume-', '^/xoopsgallery/', '^/w-agora', '^/phpmyconferences',
      '^/language/en-gb/en-gb.xml', '^/libraries/joomla/', '^/core/misc/drupal.js', '^/modules/system/system.info',
      '^/magento_version', '^/js/mage/', '^/errors/report.php', '/rss/catalog/notifystock', '/cms_wysiwyg/directive',
      '^/cmsdesk/', '^/kentico/', '^/storage/framework/', '^/artisan/$', '^/rainloop/', '^/ocs/v1.php', '^/ocs/v2.php',
      '^/remote.php/', '^/readme.html/$', '^/license.txt/$', '^/wp-links-opml', '^/app_data/',
      // Self-hosted web applications, probed at the root for their known holes.
      '^/dolibarr', '^/vtigercrm', '^/sugarcrm', '^/suitecrm', '^/espocrm', '^/orangehrm', '^/mantis', '^/bugzilla',
      '^/redmine', '^/mediawiki', '^/dokuwiki', '^/tikiwiki', '^/limesurvey', '^/piwik', '^/matomo/', '^/openx/',
      '^/zenphoto', '^/coppermine', '^/phplist', '^/mautic', '^/osticket', '^/hesk/', '^/otrs/', '^/znuny',
      '^/opencart', '^/cubecart', '^/xcart', '^/virtuemart', '^/xenforo', '^/punbb', '^/fluxbb', '^/phpfusion',
      '^/e107', '^/cmsmadesimple', '^/modx', '^/textpattern', '^/serendipity', '^/b2evolution', '^/dotclear',
      '^/pligg', '^/elgg', '^/phpwiki', '^/foswiki', '^/afterlogic', '^/sogo/', '^/openfire', '^/centreon',
      '^/opmanager', '^/ntopng', '^/smokeping', '^/mrtg/', '^/phpmyfaq', '^/ocsreports', '^/openemr', '^/openmrs',
      '^/pentaho', '^/graylog', '^/splunk', '^/phpbb3', '^/jira/', '^/confluence/', '^/bitbucket/', '^/gitea/',
      '^/gogs/', '^/gitlab/users/', '^/webtrees', '^/phpipam', '^/netbox/', '^/nextcloud/', '^/seafile',
      '^/pydio', '^/ampache', '^/subsonic', '^/plex/web', '^/jellyfin/web', '^/emby/web'
    ],
    pathOutsideContent: ['/administrator/components/', '/typo3conf/', '/bitrix/admin/', '/bitrix/php_interface/'],
    name: ['^configuration.php', '^localsettings.php', '^localsettings.', '^joomla.xml', '^sitecore.version',
      '^mt.cgi', '^bb_smilies', '^viewtopic.php.', '^admin_news_bot']
  },
  {
    rule: 'file-manager',
    certainty: 'likely',
    about: 'rich-text editor connectors, file managers and upload scripts; ' +
      'likely: an old site\'s editor and upload pages can still be bookmarked',
    path: ['/fckeditor/editor/', '/ckfinder/core/', '/kcfinder/', '/elfinder/php/', '/filemanager/connectors/',
      '/spaw2/', '/spaw/dialogs/', '/tiny_mce/plugins/', '/tinymce/plugins/', '/responsivefilemanager/',
      '/jquery-file-upload/', '/blueimp/', '/server/php/', '/uploadify/', '/phpformbuilder/', '/ajaxfilemanager/',
      '/kindeditor/', '/ueditor/', '/fileman/', '/webuploader/', '/plupload/', '/filemanager/dialog.php/'],
    pathOutsideContent: ['/fckeditor', '/ckfinder', '/kcfinder', '/elfinder', '/spaw/', '/spaw2', '/filemanager/', '/swfupload',
      '/phpthumb', '/timthumb', '/uploadify', '/file-manager/', '/filemanager2/'],
    scriptName: ['upload', 'filemanager', 'file_manager', 'file-manager', '^elfinder', '^kcfinder', '^ckfinder',
      '^fckeditor', '^connector.', '^browser.', '^imagemanager', '^filebrowser', '^phpthumb', '^timthumb',
      '^uploadify'],
    name: ['^swfupload.', '^uploadify.swf', '^fileslist.', '^dialog.php', '^filelink.php', '^openfile.php']
  },
  {
    rule: 'admin-console',
    certainty: 'likely',
    about: 'database, server and application consoles (phpMyAdmin, Adminer, Tomcat manager, Jenkins, Solr, ...); ' +
      'likely: an administrator\'s bookmark of a console the host once had',
    path: [
      '^/blog/phpmyadmin/', '^/manager/html', '^/manager/text', '^/manager/status', '^/manager/deploy', '^/manager/jmxproxy',
      '^/host-manager/', '^/jmx-console', '^/web-console', '^/admin-console', '^/invoker/', '^/jbossws/',
      '^/jbossmq-httpil/', '^/jboss-net/', '^/jboss/', '^/console/login/', '^/console/css/', '^/console/images/',
      '^/console/j_security_check', '^/bea_wls_', '^/uddiexplorer', '^/uddi/', '^/wls-wsat/', '^/_async/',
      '^/axis2', '^/axis/', '^/examples/servlet', '^/examples/jsp/', '^/examples/servlets/', '^/jsp-examples',
      '^/servlets-examples', '^/servlet/', '^/solr/', '^/druid/', '^/h2-console', '^/dbconsole', '^/jenkins/',
      '^/hudson', '^/jnlpjars/', '^/asynchpeople/', '^/script/$', '^/scripttext/$', '^/nexus/service/', '^/artifactory/api/',
      '^/kibana', '^/app/kibana', '^/_plugin/', '^/_cat/', '^/_cluster/', '^/_nodes/', '^/_all/', '^/_aliases/',
      '^/_mapping/', '^/_snapshot/', '^/_utils/', '^/_all_dbs/', '^/webmin', '^/cpanel', '^/whm/',
      '^/plesk', '^/directadmin', '^/vestacp', '^/ispconfig', '^/zabbix', '^/nagios', '^/cacti/', '^/munin',
      '^/awstats', '^/_awstats', '^/webalizer', '^/ganglia', '^/phpsysinfo', '^/monit/', '^/haproxy', '^/portainer',
      '^/rabbitmq', '^/grafana/login', '^/pma/', '^/mongo-express',
      '^/rockmongo', '^/phpredisadmin', '^/redis-commander', '^/memadmin', '^/opcache', '^/apc.php',
      '^/xcache', '^/eaccelerator', '^/memcache', '^/jolokia', '^/heapdump', '^/threaddump', '^/logfile/$',
      '^/configprops', '^/mylittleadmin', '^/mylittlebackup', '^/sqlbuddy',
      '^/sql-admin', '^/admin/phpmyadmin', '^/websql', '^/sqlweb', '^/webdb', '^/myadmin', '^/pgadmin',
      '^/phppgadmin', '^/adminer', '^/php-my-admin', '^/phpmy', '^/mysqlmanager', '^/mysql-admin',
      '^/mysqladmin', '^/pma2', '^/pma3', '^/pma4', '^/pma20', '^/dbadmin', '^/admincp', '^/adminpanel', '^/admincontrol', '^/admin_area', '^/admin-area',
      '^/adminarea', '^/admin1/', '^/admin2/', '^/admin3/', '^/admin4/', '^/admin5/', '^/phpadmin', '^/db-admin', '^/admin/sqladmin', '^/wizmysqladmin', '^/shopdb/',
      '^/sqlmanager', '^/dumper/', '^/mysqldumper', '^/bigdump', '^/moadmin', '^/phpmoadmin', '^/phpliteadmin',
      '^/sqlitemanager', '^/elmah.axd', '^/trace.axd', '^/rails/info', '^/__clockwork',
      '^/system/console', '^/crx/', '^/libs/granite/', '^/libs/cq/',
      '^/bin/querybuilder', '^/libs/livecycle', '^/system/sling', '^/wavemaker/', '^/pagespeed-global-admin',
      '^/pagespeed_admin', '^/opscenter/', '^/admin/queues.jsp', '^/manage/heapdump', '^/manage/env',
      '^/management/env', '^/sonarqube/', '^/netdata/', '^/observium/', '^/librenms/', '^/icinga', '^/virtualmin/',
      '^/usermin/', '^/ajenti/', '^/traefik/', '^/minio/', '^/activemq/', '^/hawtio/', '^/karaf/', '^/geonetwork/',
      '^/superset/', '^/metabase/', '^/redash/', '^/jupyter/', '^/rstudio/', '^/oozie/', '^/ambari/', '^/cloudera/',
      '^/hadoop/', '^/webhdfs/', '^/jobmanager/', '^/jmx/$', '^/tomcat/', '^/weblogic/', '^/glassfish/',
      '^/asadmin/', '^/resin-admin/', '^/artifactory/', '^/consul/ui', '^/v1/kv/', '^/v1/catalog/', '^/v1/sys/',
      '^/v2/keys/', '^/_search', '^/_stats', '^/_template', '^/_security/', '^/_xpack', '^/_count', '^/_msearch',
      '^/_bulk', '^/_tasks', '^/_ingest/', '^/_license', '^/_sql', '^/systeminfo/$', '^/whoami/$', '^/phpma/',
      '^/mongodump', '^/turbine.stream', '^/hystrix.stream', '^/gateway/routes', '^/zuul/routes', '^/monitorix/',
      '^/nagios3/', '^/zabbix/', '^/munin/', '^/cacti/', '^/phpldapadmin', '^/ldapadmin', '^/rockmongo',
      '^/api/v1/namespaces/kube-system', '^/apis/rbac.authorization.k8s.io',
      '^/grafana/', '^/prometheus/', '^/elasticsearch/', '^/etcd/', '^/xmlrpc/$', '^/xmlrpc.cgi', '^/xampp/',
      '^/webfig/'
    ],
    pathOutsideContent: [
      'phpmyad', 'myadmin', 'sqladmin', 'phpliteadmin', 'pgadmin', 'adminer', 'moadmin', 'sqlbuddy', 'mysqldumper',
      '/mysql-admin/', 'mysqlmanager', 'php-myadmin', 'phpadmin', '/admincp', '/adminpanel', '/pma/', '/actuator/', '/druid/', '/solr/admin', '/jmx-console',
      '/web-console', '/manager/html', '/phpmemcachedadmin', '/memcached/', '/jenkins/script', '/phpinfo/$',
      '/_profiler', '/h2-console', '/mysql/scripts/', '/scripts/setup.php', '/mysql/mysqlmanager'
    ],
    scriptName: ['^admin', 'sysadmin', '_admin', '-admin', 'webadmin', 'myadmin', 'dbadmin', 'sqladmin', '^phpadmin',
      '^administrator', '^manager.', '^cpanel', '^panel.', '^adminer', '^phpliteadmin', '^phpmyadmin', '^moadmin',
      '^sqlbuddy', '^editor-4.', '^phpmemcachedadmin', '^server-status', '^server-info', '^jmx-console',
      '^web-console', '^opcache', '^memcache', '^apc.'],
    name: ['^elmah.axd', '^trace.axd']
  },
  {
    rule: 'framework',
    certainty: 'likely',
    about: 'framework internals, debug and dependency endpoints (Spring, Laravel, Symfony, Java EE, ThinkPHP, ...); ' +
      'likely: a developer may bookmark a debug page, and a browser loads JSF resources and routes of a moved app',
    path: [
      '^/actuator/', '^/_fragment', '^/_profiler', '^/_wdt/', '^/app_dev.php', '^/app_test.php',
      '^/telescope/requests', '^/telescope/api/', '^/horizon/api/', '^/debug/vars', '^/metrics/cadvisor', '^/debug/pprof', '/debug/pprof/', '^/__debug__/', '^/storage/logs/', '^/@id/',
      '^/vendor/composer/', '^/vendor/autoload.php', '/javax.faces.resource', '^/struts/', '^/struts2-', '^/index.action/$', '^/jsonws/', '^/api/jsonws/',
      '^/graphql/schema.json', '^/eureka/', '^/hystrix', '^/nacos/',
      '^/.next/', '/cgi-bin/printenv', '^/server.js/$',

      '^/tp/public/', '^/tp5/', '^/public/index.php/', '^/index.php/module/', '^/apps/vendor/', '^/oldsite/vendor/',
      '^/modules/vendor/', '^/phpunit/', '^/vendor/htmlawed/', '^/vendor/laravel/',
      // Debug consoles of PHP frameworks wherever the app is mounted (`/web/debug/default/view`,
      // `/backend/web/gii/`): Yii debug and Gii, Laravel Debugbar, Clockwork, Symfony's toolbar.
      '/debug/default/', '/gii/$', '/gii/default/', '/gii/model/', '/gii/crud/', '/_debugbar/', '/__clockwork/',
      '/_wdt/', '/telescope/requests', '/telescope/api/', '/horizon/api/', '/app_dev.php/', '/index_dev.php/'
    ],
    pathOutsideContent: ['/actuator/', '/phpunit/'],
    query: ['xdebug_session_start', 'xdebug_profile', 'start_debug=1', '_profiler_',
      // Yii's debug module and code generator by route (`/index.php?r=debug/default/view`)
      '^r=debug/', '&r=debug/', '^r=debug$', '^r=gii', '&r=gii'],
    name: ['^phpunit.', '^composer.phar', '^web.xml$', '^faces-config.xml', '^struts.xml', '^struts-config.xml',
      '^applicationcontext.xml', '^dispatcher-servlet.xml', '-servlet.xml$', '^jboss-web.xml', '^jboss-app.xml', '^jboss-deployment', '^jboss-ejb3', '^jboss-client', '^jboss-service',
      '^weblogic.xml', '^weblogic-ejb-jar', '^ironjacamar.xml', '^persistence.xml', '^ejb-jar.xml', '^laravel.log',
      '^heapdump', '^threaddump', '^telerik.web.ui', '^glimpse.axd', '^chartimg.axd', '^elmah.axd', '^trace.axd']
  },
  {
    rule: 'vendor-app',
    polled: true,
    certainty: 'likely',
    about: 'folders and login pages of enterprise and self-hosted products (Exchange and Outlook endpoints, ' +
      'SharePoint, SAP, Oracle, Citrix StoreFront, Atlassian, webmail, old shop and news scripts); likely: ' +
      'Outlook and phones ask for /autodiscover and ActiveSync on their own, and an intranet that moved leaves bookmarks; ' +
      'a login page under an appliance vendor\'s folder (`/fortinet/login`) is judged in code',
    path: [
      '^/citrix/xenapp', '^/citrix/storeweb', '^/citrix/store/', '^/owa/', '^/ecp/', '^/ews/',
      '^/autodiscover', '^/rpc/rpcproxy.dll', '^/microsoft-server-activesync', '^/mapi/', '^/oab/',
      '^/_layouts/', '^/_vti_', '/_vti_', '^/certsrv/', '^/rdweb/', '^/aspnet_client/', '^/exchweb/',
      '^/sap/bc/', '^/sap/public/', '^/sap/hana/', '^/irj/', '^/webdynpro/', '^/nwa/', '^/oa_html/',
      '^/oa_cgi/', '^/oa_media/', '^/em/console', '^/ibm/console', '^/ibmcognos', '^/websphere',
      '^/webspheresamples', '^/iwc/', '^/qcbin/', '^/magicinfo/', '^/orion/login', '^/ovirt-engine/',
      '^/alfresco/', '^/share/page/', '^/weaver/', '^/nagiosxi/', '^/nagvis/', '^/nuxeo/',
      '^/pandora_console/', '^/polarion/', '^/qlikview/', '^/carbon/admin', '^/yunohost/', '^/zimbra',
      '^/arcgis/rest/', '^/calendar/admin/', '^/calendarix/', '^/wfc/logon', '^/web/database/',
      '^/jasperserver', '^/airwatch/', '^/goanywhere/', '^/helpdesk/webobjects/', '^/horde/',
      '^/vsphere-client', '^/ucmdb', '^/webtools/control/', '^/partymgr/', '^/accounting/control/',
      '^/geoserver/', '^/siteserver/', '^/adsamples/', '^/pls/', '^/officescan/', '^/portal/webclient',
      '^/services/listservices', '^/nifi-api/', '^/nifi/', '^/reportserver', '^/reports/browse',
      '^/plugins/servlet/', '^/secure/contactadministrators', '^/jeecg-boot', '^/seeyon/', '^/ispirit/',
      '^/yyoa/', '^/plug-in/', '^/api/kernels', '^/jira/secure/', '^/confluence/pages/', '^/wikihome/',
      '^/sysuser/', '^/servlet/', '^/shoponline/', '^/acart2_0/', '^/midicart/', '^/shopping300',
      '^/wavemaker', '^/weaver', '^/anzagien', '^/belegungsplan/', '^/contenido', '^/don3/', '^/dynatracker',
      '^/opensiteadmin/', '^/squery/', '^/mcnews/', '^/phplib/', '^/phppc/', '^/tsep/',
      '^/news/include/createdb', '^/public_html/modules/', '^/ch_readalso', '^/es_offer', '^/xt_counter',
      '^/ampps/', '^/owncloud/apps/', '^/ovirt',
      // IPTV panels (Xtream Codes, Stalker): their players ask a panel that moved, scanners look for one
      '^/player_api.php', '^/panel_api.php', '^/xmltv.php', '^/stalker_portal/', '^/streaming/clients_live.php',
      '^/a2billing/', '/plugins/weathermap/',
      // Product folders whose names an app could use too, or that devices and monitors poll (MDM check-ins,
      // time clocks, Jolokia), or that pages of an old site loaded (ColdFusion's cf_scripts)
      '^/saas/auth/', '^/commandcenter/', '^/decisioncenter', '^/selfenrollment/', '^/systemmanager/', '^/_private/',
      '^/fmi/', '^/mdm/checkin', '^/iclock/', '^/webconsole/', '^/unauth/', '^/admin_ui/', '^/apiclient/',
      '^/scriptcase/', '^/xxl-job-admin/', '^/cf_scripts/'
    ],
    name: [
      '^owssvr.dll', '^author.dll', '^shtml.dll', '^shtml.exe', '^fp30reg.dll', '^spdisco.aspx',
      '^microsoft.exchange', '^_vti_', '^snoop.jsp', '^source.jsp', '^debug.jsp', '^test.jsp',
      '^cookieexample', '^helloworldexample'
    ]
  },
  {
    rule: 'cgi',
    certainty: 'likely',
    about: 'CGI programs and folders; ' +
      'likely: old sites linked CGI scripts (form mailers, counters)',
    path: ['^/cgi-bin/', '^/cgi-sys/', '^/cgi-mod/', '^/cgi-local/', '^/fcgi-bin/', '^/cgibin/', '^/cgi-win/',
      '^/cgi/', '^/scgi-bin/', '^/cgi-exe/', '^/htbin/'],
    pathOutsideContent: ['/cgi-bin/', '/cgi-sys/', '/cgi-mod/', '/cgi-local/', '/fcgi-bin/', '/cgibin/', '/scgi-bin/'],
    name: ['.cgi$', '.pl$', '.dll$', '.bat$', '^test-cgi', '^printenv', '^php-cgi', '^php.cgi', '^formmail',
      '^perlshop', '^count.cgi', '^nph-', '^webdist.cgi', '^htsearch', '^wwwwais', '^plusmail',
      '^info2www', '^campas', '^websendmail', '^faxsurvey', '^phf$']
  },
  {
    rule: 'backup',
    certainty: 'likely',
    about: 'backups, dumps, databases and editor leftovers (archives are judged in code); ' +
      'likely: a dump or archive can be a download a page once linked',
    path: ['/backup_migrate/', '/backup-db/', '/aiowps_backups/', '/backupbuddy', '/wp_all_backup/',
      '/wpbackitup_backups/', '/updraft/', '^/_backup/', '^/backup/backup', '^/bak/', '^/old_files/',
      '^/sql/dump', '^/dumps/', '^/db_backup', '^/db_backups', '^/database_backup', '^/site_backup', '^/.backup',
      '/blog/wp-content/backups/', '/mysql_debug', '^/install~/', '^/wp.rar/', '^/venv.bak/', '^/backup.'],
    scriptName: ['^dump', 'dumper', 'backup', '^restore', '^export_db', '^exportdb', '^sqldump', '^mysqldump',
      '^db_export'],
    name: [
      '.bak$', '.bak.', '.backup$', '.bkp$', '.bk$', '.old$', '.orig$', '.original$', '.save$', '.sav$', '.swp$',
      '.swo$', '.swn$', '~$', '.tmp$', '.temp$', '.copy$', '.dist$', '.sql$', '.sql.', '.mdb$', '.accdb$',
      '.sqlite$', '.sqlite3$', '.sqlitedb$', '.db$', '.db3$', '.dump$', '.dmp$', '.mysql$', '.psql$', '.pgsql$',
      '.bson$', '.frm$', '.ibd$', '.myd$', '.ldf$', '.mdf$', '.php.', '.php_', '.php-', '.php~', '.inc.',
      '.asp.', '.aspx.', '.jsp.', '.asa.', '.asax.', '.json.bak',
      '_bak$', '-bak$', '.bakup', '^dbdump', '^db_dump', '^db-dump', '^mysqldump', '^sqldump', '^dump_',
      '^backupsql', '^db_backup', '^database_backup', '.sql.gz', '.tar.gz.', '^wc.db', '.tar.bz2$', '.tag.gz$',
      '.mysql.', '^nano.save', '^dead.letter', '^secring.', '^pubring.', '.kdbx$', '.kdb$', '.keychain$',
      '^erl_crash.dump', '^core.dump', '^hs_err_pid', '^heapdump', '.hprof$', '^localhost.', '^install.bak',
      '.pyc$', '.class$', '.war$', '.ear$', '^installer-data', '^installer-backup'
    ]
  },
  {
    rule: 'config-file',
    certainty: 'likely',
    about: 'configuration, certificates, project manifests and source files at the web root (`/app.py`; ' +
      'config-like names and source extensions are combined with the place in code); likely: `/config`, `config.json`, a `.pem` or a `.key` (also a Keynote file) can be a page or a download',
    path: ['^/config/database', '^/config/secrets', '^/config/app.yml', '^/config/application.', '^/config/settings.ini', '^/config/config.', '^/config/security.',
      '^/config/databases.yml', '^/config/storage.yml', '^/app/config/', '^/application/configs/',
      '^/common/config/', '^/services/config/', '^/documentation/config', '^/symphony/',
      '/app/config/', '^/etc/',
      '^/config.json/$', '^/api.yaml/$', '^/api.yml/$', '^/nbproject/', '^/spec/lib/',
      '^/doctrine/', '^/custom/db', '^/include/config', '^/includes/config', '^/inc/config',
      '^/config/aws', '^/var/debug',
      '^/ws_ftp', '^/dockerfile/$', '^/vagrantfile/$', '^/gemfile', '^/rakefile/$',
      // node-config and similar: `/config/<environment>.<json|yaml|toml>` (not `.js`: a page may load one).
      ...['default', 'production', 'development', 'local', 'staging', 'test', 'prod', 'dev', 'qa', 'uat',
        'custom-environment-variables', 'local-production', 'local-development', 'secrets', 'database']
        .flatMap((env) => ['json', 'json5', 'yml', 'yaml', 'toml', 'hjson'].map((ext) => '/config/' + env + '.' + ext + '/$')),
      '^/capfile/$', '^/procfile/$', '^/makefile/$', '^/jenkinsfile/$', '^/gradlew/$', '^/pipfile/$', '^/kubeconfig/$', '^/anaconda3/', '^/venv/', '^/.venv/', '^/virtualenv/', '^/node_modules/.bin'],
    name: [
      '.ini$', '.conf$', '.cnf$', '.cfg$', '.config$', '.properties$', '.toml$', '.env$', '.pem$', '.key$', '.p12$', '.pfx$', '.jks$', '.keystore$', '.ovpn$', '.tfvars$', '.npmrc$', '.inc$',
      '.passwd$', '.password$', '.pwd$', '.secret$', '.secrets$', '.plist$', '.iml$', '.ipr$', '.iws$',
      '.sublime-project', '.sublime-workspace', '.code-workspace', '.csproj$', '.vbproj$', '.sln$', '.pbxproj$',
      '.xcworkspace', '.gemspec$', '.rdb$', '.mcd$', '.reg$',
      '^identity.pub',
      '^passwd.', '^pass.txt', '^pwd.db', '^creds.', '^users.txt', '^user.txt', '^accounts.txt', '^keys.txt',
      '^api_keys.', '^apikeys.', '^token.txt', '^tokens.txt', '^aws.txt', '^aws_keys', '^credentials.', '^secret_token', '^secrets.json', '^secret.json',
      '^secrets.txt', '^secret.txt', '^secret_key', '^secret-key', '^private.key', '^privatekey', '^server.key',
      '^docker-compose', '^dockerrun', '^compose.yml', '^compose.yaml', '^dockerfile.', '^gemfile.lock', '^gruntfile.js', '^gulpfile.js', '^webpack.config', '^webpack.mix',
      '^vite.config', '^next.config', '^nuxt.config', '^babel.config', '^jest.config', '^karma.conf',
      '^rollup.config', '^tailwind.config', '^postcss.config', '^svelte.config', '^astro.config', '^ecosystem.config',
      '^package.json$', '^package-lock.json$', '^npm-shrinkwrap.json', '^composer.json$', '^composer.lock$',
      '^composer.phar', '^yarn.lock$', '^pnpm-lock', '^bower.json$', '^tsconfig.json$', '^jsconfig.json$',
      '^go.mod$', '^go.sum$', '^cargo.toml$', '^cargo.lock$', '^pyproject.toml$', '^requirements.txt$',
      '^requirements-dev.txt', '^pipfile.', '^poetry.lock$', '^setup.py$', '^setup.cfg$', '^manage.py$',
      '^wsgi.py$', '^asgi.py$', '^settings.py$', '^local_settings.py', '^__init__.py$', '^pubspec.', '^build.gradle',
      '^settings.gradle', '^gradlew.', '^gradle.properties', '^gradle-wrapper', '^pom.xml$', '^build.xml$',
      '^build.local.xml', '^phpunit.xml', '^phpspec.yml', '^phinx.yml', '^codeception.yml', '^behat.yml',
      '^project.xml$', '^nbactions.xml', '^.classpath', '^web.config', '^web.debug.config', '^web.release.config',
      '^server.xml$', '^context.xml$', '^local.xml', '^enterprise.xml', '^global.asa',
      '^appspec.yml', '^homestead.', '^ftpsync.settings', '^ws_ftp.log', '^database.yml', '^mongoid.yml', '^application.properties',
      '^application.yml', '^application.yaml', '^bootstrap.yml', '^appsettings.', '^parameters.yml',
      '^parameters.ini', '^parameters.php', '^airflow.cfg', '^fish_variables',
      '^nginx.conf', '^httpd.conf', '^apache2.conf', '^php.ini', '^php-cli.ini', '^php4.ini', '^php5.ini',
      '^my.cnf', '^my.ini', '^mercurial.ini', '^serviceaccount.', '^service-account.', '^service_account.', '^firebase.json', '^google-services.json', '^googleservice-info',
      '^keystore.', '^jwt.key', '^jwt-key.', '^oauth-private.', '^apiserver-key', '^ca.key', '^client.key',
      '^terraform.tfvars', '^kubeconfig.', '^auth.json$',
      '^aws.yml', '^aws.yaml', '^aws-key.', '^aws.json', '^boto.cfg', '^wp-cli.yml', '^heroku.yml', '^netlify.toml',
      '^vercel.json', '^now.json', '^app.yaml$', '^app.yml$', '^cloudbuild.', '^buildspec.',
      '^azure-pipelines.', '^bitbucket-pipelines.', '^gitlab-ci.', '^circle.yml', '^travis.yml', '^codeship.',
      '^environment.rb', '^database.php', '^settings.php', '^settings.inc', '^settings.local', '^settings.ini',
      '^settings.xml', '^settings.dist', '^config.inc', '^conf.php', '^db.php', '^db.inc', '^db.ini', '^dbconn',
      '^db_connect', '^dbconnect', '^db-connect', '^connect.inc', '^connection.php', '^conn.php', '^conn.asp',
      '^conn.inc', '^database.inc', '^sql.inc', '^auth.inc', '^users.ini', '^users.xml',
      '^dataobject.ini', '^defaults.inc', '^admin_config', '^admin-database', '^getcfg', '^authorization.config',
      '^dump.log', '^ldap-authentication', '^buffer.conf', '^release.properties',
      '^build.properties', '^buildnumber.properties', '^log4j.properties', '^log4j.xml', '^logback.xml',
      '^hibernate.cfg', '^datasources.xml', '^jdbc.properties', '^db.properties',
      '^startup.cfg', '^server.cfg', '^server.config', '^backup.cfg', '^sites.ini', '^magmi.ini', '^monkid',
      '^monkdonate', '^sqlnet.ora', '^tnsnames.ora', '^listener.ora', '^krb5.conf', '^dkms.conf', '^expires.conf', '^10-flannel', '^cabal.sandbox', '^meta.yml', '^manifest.bak',
      '^schema.yml', '^tconn.conf', '^frontpg.ini', '^pubspec.lock'
    ]
  },
  {
    rule: 'log-file',
    certainty: 'likely',
    about: 'server and application logs; ' +
      'likely: a log can be linked from a status page',
    path: ['/_logs/', '/_log/', '^/apache/logs/', '^/httpd/logs/', '^/nginx/logs/', '^/var/log'],
    name: ['.log$', '.log.', '^error_log', '^access_log', '^errors_log', '^php_errors', '^php_error', '^nohup.out',
      '^catalina.out', '^stdout.log', '^stderr.log', '.err$', '^error.txt', '^errors.txt', '^debug.txt',
      '^log.mdb', '^log.sqlite', '^logs.mdb', '^cron_import', '^davmail.', '^spamlog']
  },
  {
    rule: 'info-leak',
    polled: true,
    certainty: 'likely',
    about: 'diagnostic pages and scripts (phpinfo, test and status scripts), stock files that tell a version ' +
      '(readme, changelog, IIS start page) and proxy test pages; likely: a developer\'s bookmark or a stale link ' +
      'of a moved site can ask for them',
    path: ['^/readme.txt/$', '^/readme.md/$', '^/changelog.md/$', '^/install.txt/$', '^/upgrade.txt/$',
      '^/copyright.txt/$', '^/version.txt/$', '^/iisstart.htm', '^/iisadmin/', '^/proxy.txt', '^/hello.world',
      '^/_vti_inf.html', '^/index.php/phpinfo',
      '^/phpinfo', '/phpinfo/$', '^/php_info', '^/info.php', '^/info.asp', '^/info.jsp', '^/admin/info.php', '^/pinfo', '^/phpversion', '^/test.php',
      // Status pages monitoring agents scrape (Datadog, Zabbix, collectd): polled, so in this family.
      '^/server-status', '^/server-info', '^/nginx-status', '^/nginx_status', '^/fpm-status', '^/php-fpm-status',
      '^/status.php', '^/probe.php'],
    pathOutsideContent: ['phpinfo'],
    // `?phpinfo=1`, `?phpinfo`: asks a page for its diagnostics. Numbered diagnostic scripts (`/info3.php`,
    // `/test7.php`) are judged in code.
    query: ['^phpinfo=', '&phpinfo=', '^phpinfo$', '&phpinfo$', '^phpinfo&', '&phpinfo&'],
    scriptName: ['^proxy.', '^proxies.', '^judge.', '^test.', '^test0', '^test1', '^test2', '^test3', '^test4', '^test5', '^tests.', '^testing.',
      '^test_', '^phpinfo', 'phpinfo', '^debug.', '^debug_', '^sysinfo', '^phpversion',
      '^version.', '^probe', '^server-info', '^serverinfo', '^check.php', '^env.', '^environment.', 'infophp',
      'phptest', 'testphp', '^php_test', '^php-test'],
    name: ['^judge.php', '^phpinfo.', '^php_info.', '^php-info.', '^pinfo.', '^i.php$',
      '^phpversion.', '^php.php', '^phpcredits.', '^probe.php', '^linfo.', '^sysinfo.', '^test.php', '^test.asp',
      '^test.jsp', '^test.cfm', '^test.pl', '^test.cgi', '^test1.', '^test2.', '^test3.', '^test0.', '^tests.php',
      '^_test.', '^__test.', '^testing.php', '^debug.php', '^debug.asp', '^debug.py', '^debug_error', '^db_status',
      '^status.php', '^apc.php', '^x.php', '^info.php3', '^printenv', '^test-cgi', '^snoop.', '^env.php',
      '^environment.php', '^php.ini.php']
  },
  {
    rule: 'installer',
    certainty: 'likely',
    about: 'installers and upgrade scripts left on a server; ' +
      'likely: installer and update pages of a moved application can be bookmarked',
    path: ['^/installation/', '^/install/index.php', '^/install/install.php', '^/install/update', '^/setup/index.php',
      '^/setup/setup.php', '^/scripts/setup.php', '^/wp-admin/install', '^/wp-admin/setup-config', '^/core/install'],
    scriptName: ['^install.', '^install_', '^install-', '^installer', '^setup.', '^setup_', '^setup-', '^upgrade.',
      '^upgrade_', '^update.', '^uninstall', '^migrate.', '^wizard.'],
    name: ['^install.php', '^install.asp', '^install.aspx', '^install.jsp', '^install.cgi', '^install.sql',
      '^install.log', '^install.inc', '^install.zip', '^installer.php', '^installer.', '^setup.php', '^setup.asp',
      '^setup.aspx', '^setup.cgi', '^upgrade.php', '^upgrade.asp', '^update.php', '^maintenance.flag', '^uninstall.php',
      '^upgrade.aspx', '^setup-config.php', '^sqlmigrate']
  }
]

// ---------------------------------------------------------------------------
// Tags: patterns that decide nothing alone. lib/classify/classify.ts combines them
// (a shell word only counts in a script name, an archive only at the root or
// with a backup-like name, a CMS folder only when the file is not media ...).

export const nameTags = {
  /** Server-side script extensions: a shell word or a tiny name only counts with one of these. */
  script: ['.php$', '.php3$', '.php4$', '.php5$', '.php7$', '.php8$', '.phtml$', '.pht$', '.phps$', '.phar$',
    '.phpp$', '.asp$', '.aspx$', '.ashx$', '.asa$', '.jsp$', '.jspx$', '.jspa$', '.cfm$', '.cfml$', '.cgi$',
    '.pl$', '.jsf$'],
  /** Where a config-like name is a secret: source, data and config extensions (not .js, not .html). */
  sensitive: ['.php$', '.php3$', '.php4$', '.php5$', '.phtml$', '.inc$', '.asp$', '.aspx$', '.jsp$', '.cfm$',
    '.ini$', '.yml$', '.yaml$', '.xml$', '.toml$', '.txt$', '.py$', '.rb$', '.pl$', '.conf$', '.cfg$', '.cnf$',
    '.properties$', '.config$', '.env$', '.sh$', '.bak$', '.old$', '.cs$', '.java$', '.go$', '.ts$'],
  /** Names that hold configuration when the extension is a sensitive one. */
  configName: ['^config.', '^config_', '^config-', '^config1', '^config2', '^configs.', '^configuration.',
    '^configure.', '^conf.', '^conf_', '^conf-', '^settings.', '^settings_', '^settings-', '^setting.',
    '^localsettings', '^local_settings', '^local.settings', '^local-settings', '^secrets', '^secret.',
    '^credentials.', '^database.', '^database_', '^databases.', '^db.', '^db_', '^db-', '^dbconfig', '^dbconn',
    '^connect.', '^connection.', '^connections.', '^conn.', '^parameters.', '^env.', '^environment.',
    '^application.', '^app.config', '^appsettings.', '^site.config', '^sites.', '^wp-config', '^mysql.', '^sql.',
    '^passwords', '^password.', '^phinx', '^propel', '^doctrine', '.config.', '_config.', '-config.'],
  /** Pages and browser assets: a config-like name with one of these is a page, not a secret. */
  page: ['.html$', '.htm$', '.xhtml$', '.shtml$', '.js$', '.mjs$', '.css$', '.map$', '.json$', '.png$', '.jpg$',
    '.jpeg$', '.gif$', '.svg$', '.webp$', '.ico$', '.pdf$', '.md$'],
  /** A name with an extension (the leading dot of a hidden name never gets this far). */
  extension: ['.'],
  /** `config*.json`: configuration, except a bare `config.json` below the root. */
  json: ['.json$'],
  configJson: ['^config_', '^config-', '^config.'],
  bareConfigJson: ['^config.json$'],
  /** YAML: configuration unless the name says API description. */
  yaml: ['.yml$', '.yaml$'],
  apiSpec: ['^openapi', '^swagger', '^asyncapi', '^api-docs', '^api-spec', '^spec.', '^api.', '^api_', '^api-'],
  /** XML is configuration when the name says so. */
  xml: ['.xml$'],
  xmlConfig: ['config', 'settings', 'servlet', 'web.xml', 'context', 'datasource', 'credentials', 'database',
    'deploy', 'jboss', 'weblogic', 'persistence', 'hibernate', 'log4j', 'logback', 'users', 'security',
    'workspace', 'modules.xml', 'misc.xml', 'encodings.xml', 'gradle.xml', 'vcs.xml', 'pom.xml', 'build.xml'],
  /** Archives: a backup at the root, or anywhere with a backup-like name. */
  archive: ['.zip$', '.rar$', '.7z$', '.tar$', '.tgz$', '.gz$', '.bz2$', '.xz$', '.tbz$', '.tbz2$', '.txz$',
    '.lzma$', '.z$', '.arj$', '.cab$'],
  /** Below the root an archive is a backup only when its name says so (`/downloads/mysql-workbench.zip` is not). */
  backupWord: ['backup', '^bak', '.bak', 'dump', '^db.', '^db_', '^db-', '_db.', '-db.', '^database.', '^www.',
    '^wwwroot', '^htdocs', '^public_html', '^localhost', '^site.', '^web.', '^html.', '^old.', '^new.', '^src.',
    '^source.', '^files.', '^data.'],
  /** Files browsers, crawlers and apps ask for unprompted. */
  benign: ['^favicon', '^apple-touch-icon', '^apple-icon', '^android-chrome', '^android-icon', '^mstile-',
    '^ms-icon', '^touch-icon', '^safari-pinned-tab', '^mask-icon', '^maskable', '^icon-', '^icon.', '^icons-',
    '^logo192', '^logo512', '^logo-192', '^logo-512', '^pwa-', '^browserconfig.xml$', '^manifest.json$',
    '.webmanifest$', '^manifest.webapp', '^opensearch.xml$', '^osd.xml$', '^opensearchdescription',
    '^robots.txt$', '^humans.txt$', '^security.txt$', '^ads.txt$', '^app-ads.txt$', '^sellers.json$',
    '^llms.txt$', '^llms-full.txt$', '^ai.txt$', '^ai-plugin.json', '^sitemap', 'sitemap.xml', 'sitemap_index',
    'sitemap-index', '-sitemap', '_sitemap', '^feed$', '^rss$', '^atom$', '^rss.xml$', '^atom.xml$',
    '^feed.xml$', '^feed.rss', '^feed.atom', '^feed.json$', '^rss2', '^index.xml$', '^index.rss',
    '^bingsiteauth.xml$', '^yandex_', '^google', '^pinterest-', '^apple-app-site-association$', '^assetlinks.json$',
    '^sw.js$', '^service-worker.js$', '^serviceworker.js$', '^service_worker.js', '^firebase-messaging-sw.js$',
    '^onesignalsdk', '^ngsw.json$', '^ngsw-worker.js$', '^push-worker.js$', '^sw-', '-sw.js$', '^worker.js$',
    '^wpad.dat$', '^crossdomain.xml$', '^clientaccesspolicy.xml$', '^keybase.txt$', '^dnt-policy.txt$',
    '^trust.txt$', '^carbon.txt$', '^gpc.json$', '^apple-developer-merchantid',
    '^mta-sts.txt$', '^logo.', '^logo-', '^logo_', '^workbox-', '^registersw.js', '.appcache$', '^cache.manifest',
    '^search.xml$', '^opensearch', '^coffee.txt', '^blogger.xml', '^vk_', '^baidu_verify', '^mywot', '^norton_',
    '^msvalidate', '^bdsitemap', '^feed.php$', '^rss.php$'],
  /** Server-side source code: at the web root it was never meant to be served (`/app.py`, `/main.go`). */
  source: ['.py$', '.rb$', '.go$', '.java$', '.cs$', '.rs$', '.kt$', '.scala$', '.exs$', '.erl$', '.pyw$', '.vb$'],
  /** A digit before a dot: a numbered name (`info3.php`), looked at more closely in code only then. */
  digitDot: ['0.', '1.', '2.', '3.', '4.', '5.', '6.', '7.', '8.', '9.'],
  /** Login page names, for a vendor's folder. */
  loginName: ['^login$', '^login.', '^logon$', '^logon.', '^signin$', '^signin.', '^sign-in$', '^sign-in.', '^auth.',
    '^authenticate', '^dologin', '^userlogin', '^user_login', '^admin-login', '^adminlogin', '^admin_login', '^portal.',
    '^welcome.'],
  sourceMap: ['.js.map$', '.css.map$', '.mjs.map$', '.cjs.map$', '.jsx.map$', '.ts.map$', '.min.map$'],
  /** Static assets: under a CMS media folder these are stale links, not probes. */
  media: ['.png$', '.jpg$', '.jpeg$', '.gif$', '.webp$', '.avif$', '.svg$', '.ico$', '.bmp$', '.tif$', '.tiff$',
    '.heic$', '.pdf$', '.mp4$', '.webm$', '.mov$', '.m4v$', '.avi$', '.mp3$', '.m4a$', '.wav$', '.ogg$',
    '.woff$', '.woff2$', '.ttf$', '.eot$', '.otf$', '.css$', '.js$', '.doc$', '.docx$', '.xls$', '.xlsx$',
    '.ppt$', '.pptx$', '.odt$', '.rtf$', '.epub$', '.csv$', '.vtt$', '.srt$', '.jfif$', '.flac$', '.aac$']
}

export const pathTags = {
  wellKnown: ['^/.well-known/'],
  /** CMS folders that hold media: a stale image or document there is not a probe. */
  cmsMedia: ['/wp-content/', '/wp-includes/', '^/sites/default/files/', '/sites/all/themes/', '^/fileadmin/',
    '^/typo3temp/', '^/images/stories/', '^/upload/iblock/', '^/bitrix/templates/', '^/bitrix/images/',
    '^/skin/frontend/', '^/pub/media/', '^/pub/static/', '^/media/catalog/', '^/media/wysiwyg/', '^/uploads/',
    '^/wp/wp-content/', '^/blog/wp-content/'],
  /** Pages about something: product names under them are topics, not probes. */
  content: ['/docs/', '/doc/', '/documentation/', '/tags/', '/tag/', '/topics/', '/topic/', '/category/',
    '/categories/', '/help/', '/kb/', '/wiki/', '/guides/', '/guide/', '/learn/', '/courses/', '/course/',
    '/tutorials/', '/tutorial/', '/articles/', '/article/', '/questions/', '/forum/', '/t/', '/news/', '/posts/',
    '/post/', '/integrations/', '/integration/', '/partners/', '/compare/', '/alternatives/', '/search/',
    '/support/', '/manual/', '/reference/', '/changelog/', '/marketplace/', '/glossary/', '/faq/', '/academy/',
    '/vs/', '/find/', '/results/', '/blog/', '/packages/', '/recipes/', '/cookbook/', '/examples/', '/samples/',
    '/showcase/', '/templates/', '/themes/', '/extensions/', '/addons/', '/p/', '/r/', '/u/', '/users/',
    '/@', '/~', '/repos/', '/blog/tags/', '/stories/', '/jobs/', '/careers/'],
  /** Folders that hold backups: an archive there is one. */
  backupDir: ['/backup/', '/backups/', '/bak/', '/_backup/', '/old/', '/dump/', '/dumps/', '/db/', '/sql/'],
  /** Composer's folder: a script there is a library file, never a page. */
  vendorDir: ['^/vendor/'],
  /** Folders that hold uploads and temporary files: a script there was dropped, not deployed (rule `webshell`). */
  writableDir: ['/tmp/', '/temp/', '/upload/', '/uploads/', '/uploaded/', '/userfiles/', '/user_uploads/', '/attachments/', '/wp-content/uploads/', '/sites/default/files/',
    '/fileadmin/', '/media/uploads/', '/assets/uploads/', '/public/uploads/', '/storage/app/public/'],
  /**
   * Image and cache folders: a script there is likely dropped, but an old site may have had
   * `/images/thumb.php` or `/img/captcha.php` (rule `shell-name`, not certain).
   */
  imageDir: ['/images/', '/image/', '/img/', '/pics/', '/cache/'],
  /**
   * Configuration folders: a script or data file right in one is configuration (`/config/app.php`,
   * `/conf/db.ini`); the parent is checked in code (`/conf/2024/schedule.php` is a conference page).
   */
  configDir: ['/config/', '/configs/', '/conf/', '/configuration/'],
  /** Source code is read from the web root or a top source folder (`/app.py`, `/src/main.py`), never served. */
  sourceDir: ['^/src/', '^/app/', '^/server/', '^/backend/', '^/api/', '^/lib/'],
  /** DNS-over-HTTPS endpoints; with DNS parameters in the query (code) they are rule `dns-over-https`. */
  dnsQuery: ['^/dns-query/$', '^/doh/$', '^/doh/dns-query/$', '^/dns/dns-query/$'],
  dnsJson: ['^/resolve/$', '^/dns-query/$'],
  /**
   * An appliance vendor's or product's folder as the first segment: a login page under it (`/fortinet/login`,
   * `/sonicwall/login.html`) is a probe for the appliance (rule `vendor-app`); any other page there is a topic.
   */
  vendorFolder: ['^/cisco/', '^/fortinet/', '^/fortigate/', '^/fortiweb/', '^/fortimail/', '^/sonicwall/', '^/paloalto/',
    '^/panos/', '^/netscaler/', '^/citrix/', '^/f5/', '^/bigip/', '^/big-ip/', '^/zyxel/', '^/mikrotik/',
    '^/hikvision/', '^/dahua/', '^/ubnt/', '^/unifi/', '^/pfsense/', '^/opnsense/', '^/sophos/', '^/watchguard/',
    '^/checkpoint/', '^/barracuda/', '^/juniper/', '^/junos/', '^/huawei/', '^/tplink/', '^/tp-link/', '^/dlink/',
    '^/d-link/', '^/netgear/', '^/synology/', '^/qnap/', '^/vmware/', '^/vcenter/', '^/esxi/', '^/ivanti/',
    '^/pulse/', '^/pulsesecure/', '^/globalprotect/', '^/forticlient/', '^/draytek/', '^/ruckus/', '^/aruba/',
    '^/meraki/', '^/grandstream/', '^/yealink/', '^/zimbra/', '^/openvpn/', '^/sslvpn/', '^/vpn/', '^/anyconnect/',
    '^/arraynetworks/', '^/sangfor/', '^/h3c/', '^/ruijie/', '^/tenda/', '^/totolink/', '^/netis/', '^/linksys/', '^/asus/', '^/ipcam/', '^/dvr/', '^/nvr/', '^/webui/', '^/webadmin/']
}

export const queryTags = {
  remoteUrl: ['http://', 'https://', 'ftp://', 'http:/', 'https:/'],
  remoteScript: ['.txt$', '.txt&', '.txt?', '.txt\0', '.txt%', '?$', '??', '.jpg?$', '.gif?$', '.php?&cmd',
    '?&cmd', '?cmd=', '?ls', '?&', '.txt '],
  /** PHP-CGI argument injection (CVE-2012-1823, CVE-2024-4577): a query that starts with `-` or a soft hyphen. */
  /** A search box's parameter: an OS file named there is a search, not a read. */
  searchKey: ['^q=', '&q=', '^query=', '&query=', '^search=', '&search=', '^term=', '&term=', '^keyword=', '&keyword=',
    '^keywords=', '&keywords=', '^k=', '^searchterm=', '^search_query=', '&search_query=', '^text='],
  phpCgiArgument: ['^-d', '^-s$', '^-s&', '^\uf7ad', '^ -d', '^\u00ad'],
  /** DNS-over-HTTPS parameters: RFC 8484's `dns=`, the JSON API's `name=` with a record type. */
  dnsParam: ['^dns=', '&dns='],
  nameParam: ['^name=', '&name='],
  recordType: ['a', 'aaaa', 'mx', 'txt', 'ns', 'cname', 'any', 'soa', 'ptr', 'srv', 'https', 'svcb', 'caa', 'ds',
    'dnskey', 'naptr', '1', '2', '5', '6', '12', '15', '16', '28', '33', '64', '65', '255']
    .flatMap((type) => ['^type=' + type + '$', '^type=' + type + '&', '&type=' + type + '$', '&type=' + type + '&'])
}

/**
 * Leading-dot segments that are not hidden files: platform routes (Netlify
 * functions, App Service and Static Web Apps auth, Anubis) and `.NET` topics.
 * `.well-known` is handled as a benign prefix.
 */
export const allowedDotSegments = {
  /** Allowed as the first segment. */
  first: ['.well-known', '.netlify', '.auth', '.within.website'],
  /** A hidden name as the last segment under one of these is a topic page (`/tags/.env`). */
  topicParents: ['tags', 'tag', 'topics', 'topic', 'docs', 'doc', 'wiki', 'kb', 'glossary', 'category', 'categories',
    'search', 'questions', 'learn', 'guides', 'reference'],
  /** Allowed anywhere below the first segment. */
  nested: ['.well-known', '.net', '.net-core', '.net-framework', '.net-maui', '.net6', '.net7', '.net8', '.net9',
    '.net5', '.netcore']
}

/** Dot names that are version control (rule `vcs`); every other hidden name is `dotfile`. */
export const vcsDotPrefixes = ['.git', '.svn', '.hg', '.bzr', '.cvs', '.darcs', '.fossil', '.repo', '.jj']
