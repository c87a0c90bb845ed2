import Foundation

/// The private configuration files of one site, written under the layout's root at `up`. Each
/// daemon is told where its file is on its command line; none reads the host's own site config.
struct SiteConfig {
    let layout: BaselineLayout
    /// The WordPress database password and salts, made at the first `up` and kept in the state file.
    let secrets: SiteSecrets

    /// `WORDPRESS_CONFIG` picks `/etc/wordpress/config-<name>.php` in Debian's wp-config.php; the
    /// lab bind-mounts its own directory over /etc/wordpress for php-fpm and the seeding php.
    static let wordpressConfigName = "holonbaseline"

    var nginx: String {
        let l = layout
        return """
        # holon baseline: private nginx for the lab's WordPress (not the host's nginx).
        user www-data;
        worker_processes 1;
        daemon on;
        pid \(l.run)/nginx.pid;
        error_log \(l.logs)/nginx-error.log warn;
        events { worker_connections 2048; }
        http {
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            # One line per request; the run's summary counts client addresses and engines from it.
            log_format baseline '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent $request_time "$http_user_agent" $scheme';
            access_log \(l.accessLog) baseline;
            client_body_temp_path \(l.run)/nginx-body;
            fastcgi_temp_path \(l.run)/nginx-fastcgi;
            proxy_temp_path \(l.run)/nginx-proxy;
            uwsgi_temp_path \(l.run)/nginx-uwsgi;
            scgi_temp_path \(l.run)/nginx-scgi;
            client_max_body_size 16m;
            sendfile on;
            keepalive_timeout 65;
            gzip on;
            gzip_types text/css application/javascript application/json image/svg+xml;
            server {
                listen \(l.siteAddress):80;
                listen \(l.siteAddress):443 ssl;
                ssl_certificate \(l.etc)/site.crt;
                ssl_certificate_key \(l.etc)/site.key;
                server_name _;
                root /usr/share/wordpress;
                index index.php;
                location /wp-content/ { alias \(l.wpContent)/; expires 1h; }
                location / { try_files $uri $uri/ /index.php?$args; }
                location ~ \\.php$ {
                    include /etc/nginx/fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_param WORDPRESS_CONFIG \(Self.wordpressConfigName);
                    fastcgi_pass unix:\(l.phpSocket);
                    fastcgi_read_timeout 120s;
                }
            }
        }

        """
    }

    var phpFPM: String {
        let l = layout
        return """
        ; holon baseline: private php-fpm pool for the lab's WordPress.
        [global]
        pid = \(l.run)/php-fpm.pid
        error_log = \(l.logs)/php-fpm.log
        daemonize = yes

        [baseline]
        user = www-data
        group = www-data
        listen = \(l.phpSocket)
        listen.owner = www-data
        listen.group = www-data
        ; 23 people at human rhythm need few workers; more would only crowd two cores.
        pm = dynamic
        pm.max_children = 8
        pm.start_servers = 3
        pm.min_spare_servers = 2
        pm.max_spare_servers = 4
        php_admin_value[upload_max_filesize] = 16M
        php_admin_value[post_max_size] = 16M
        php_admin_value[memory_limit] = 256M
        php_admin_value[error_log] = \(l.logs)/php-errors.log

        """
    }

    var wordpress: String {
        let l = layout
        let s = secrets
        return """
        <?php
        // holon baseline: the lab's WordPress, read by Debian's /usr/share/wordpress/wp-config.php.
        define('DB_NAME', 'wordpress');
        define('DB_USER', 'wordpress');
        define('DB_PASSWORD', '\(s.databasePassword)');
        define('DB_HOST', 'localhost:\(l.mysqlSocket)');
        define('WP_CONTENT_DIR', '\(l.wpContent)');
        // The site answers on http and https at the lab address: links follow the scheme asked for.
        $holon_scheme = (!empty($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== 'off') ? 'https' : 'http';
        $holon_host = $_SERVER['HTTP_HOST'] ?? '\(l.siteAddress)';
        define('WP_HOME', "$holon_scheme://$holon_host");
        define('WP_SITEURL', "$holon_scheme://$holon_host");
        define('WP_CONTENT_URL', "$holon_scheme://$holon_host/wp-content");
        // The lab is routed nowhere: no update checks, no cron requests from the site to itself
        // (they would show up as a client address of the site's own).
        define('WP_HTTP_BLOCK_EXTERNAL', true);
        define('DISABLE_WP_CRON', true);
        define('AUTOMATIC_UPDATER_DISABLED', true);
        define('FS_METHOD', 'direct');
        define('AUTH_KEY', '\(s.salts[0])');
        define('SECURE_AUTH_KEY', '\(s.salts[1])');
        define('LOGGED_IN_KEY', '\(s.salts[2])');
        define('NONCE_KEY', '\(s.salts[3])');
        define('AUTH_SALT', '\(s.salts[4])');
        define('SECURE_AUTH_SALT', '\(s.salts[5])');
        define('LOGGED_IN_SALT', '\(s.salts[6])');
        define('NONCE_SALT', '\(s.salts[7])');

        """
    }

    /// Squid, one port per person, each leaving from that person's address
    /// (`tcp_outgoing_address` chosen by the port the browser came in on).
    var squid: String {
        let l = layout
        var lines = [
            "# holon baseline: one proxy port per person, each leaving from its own address.",
            "pid_filename \(l.run)/squid/squid.pid",
            "cache_log \(l.run)/squid/cache.log",
            "access_log none",
            "cache_store_log none",
            "cache deny all",
            "cache_mem 8 MB",
            // Pass the browser's request through as it made it: no Via, no X-Forwarded-For.
            "via off",
            "forwarded_for transparent",
            "httpd_suppress_version_string on",
            "shutdown_lifetime 1 seconds",
            "dns_nameservers 127.0.0.1",
            "http_access allow localhost",
            "http_access deny all",
            "coredump_dir \(l.run)/squid",
            "cache_effective_user proxy",
        ]
        for i in 0..<l.people {
            lines.append("http_port 127.0.0.1:\(l.proxyPort(i)) name=p\(i)")
            lines.append("acl from_p\(i) myportname p\(i)")
            lines.append("tcp_outgoing_address \(l.personAddress(i)) from_p\(i)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Made once per lab (first `up`), so a second `up` finds the same database password.
public struct SiteSecrets: Codable, Sendable, Hashable {
    public var databasePassword: String
    public var salts: [String]

    static func make() -> SiteSecrets {
        var g = SystemRandomNumberGenerator()
        func token(_ n: Int) -> String {
            let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            return String((0..<n).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
        }
        return SiteSecrets(databasePassword: token(24), salts: (0..<8).map { _ in token(48) })
    }
}
